/**
 * Following ``WS /trio/api/events``: reconnects after a drop with ``?since=<last id>`` so nothing is lost
 * or applied twice, and refetches the lists when the server says it can no longer replay (restart,
 * backlog passed, or ``reset``). No timers poll anything: the only timer is the reconnect back-off.
 */

import { TrioModel } from './model';
import type { IEvent } from './wire';

/** The part of a WebSocket this client uses (the tests pass a fake). */
export interface ISocket {
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  close(code?: number, reason?: string): void;
}

export interface IEventsOptions {
  model: TrioModel;
  /** Open a socket to the events URL with this ``since`` (null: from now). */
  connect: (since: number | null) => ISocket;
  /** Load the REST lists again; resolves with nothing (the model is loaded by the caller). */
  refetch: () => Promise<void>;
  /** Called with every event after the model applied it (log viewers, the Running panel...). */
  onEvent?: (event: IEvent) => void;
  backoffMs?: number[];
  schedule?: (fn: () => void, ms: number) => unknown;
}

export class EventsClient {
  private _socket: ISocket | null = null;
  private _attempt = 0;
  private _disposed = false;
  private _connected = false;
  // events that arrive while the lists are refetched: applied on top of what the lists say
  private _pending: IEvent[] | null = null;
  private readonly _backoff: number[];
  private readonly _schedule: (fn: () => void, ms: number) => unknown;

  constructor(private readonly options: IEventsOptions) {
    this._backoff = options.backoffMs ?? [250, 500, 1000, 2000, 5000];
    this._schedule = options.schedule ?? ((fn, ms) => setTimeout(fn, ms));
  }

  get connected(): boolean {
    return this._connected;
  }

  start(): void {
    this._open();
  }

  dispose(): void {
    this._disposed = true;
    this._socket?.close();
    this._socket = null;
  }

  private _open(): void {
    if (this._disposed) {
      return;
    }
    const since = this.options.model.lastEventId;
    const socket = this.options.connect(since);
    this._socket = socket;
    socket.onopen = () => {
      this._attempt = 0;
      this._connected = true;
    };
    socket.onmessage = ev => {
      let event: IEvent;
      try {
        event = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      this._handle(event, since);
    };
    socket.onerror = () => undefined;
    socket.onclose = () => {
      this._connected = false;
      if (this._socket !== socket || this._disposed) {
        return;
      }
      this._socket = null;
      const wait = this._backoff[Math.min(this._attempt, this._backoff.length - 1)];
      this._attempt++;
      this._schedule(() => this._open(), wait);
    };
  }

  private _handle(event: IEvent, since: number | null): void {
    const model = this.options.model;
    if (event.type === 'hello') {
      if (event.refetch || since === null) {
        // nothing to replay: what the lists say now, then every event after hello.last_id
        this._pending = [];
        const done = () => {
          const pending = this._pending ?? [];
          this._pending = null;
          model.lastEventId = event.last_id ?? null;
          model.apply(event);
          for (const e of pending) {
            if (model.apply(e)) {
              this.options.onEvent?.(e);
            }
          }
          this.options.onEvent?.(event);
        };
        void this.options.refetch().then(done, done);
        return;
      }
      model.apply(event);
      this.options.onEvent?.(event);
      return;
    }
    if (this._pending !== null) {
      this._pending.push(event);
      return;
    }
    if (event.type === 'reset') {
      model.lastEventId = null; // reconnect from now and refetch
      this._socket?.close();
      return;
    }
    if (model.apply(event)) {
      this.options.onEvent?.(event);
    }
  }
}
