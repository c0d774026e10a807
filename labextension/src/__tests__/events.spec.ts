import { EventsClient, ISocket } from '../events';
import { TrioModel } from '../model';
import { IEvent } from '../wire';

class FakeSocket implements ISocket {
  onopen: ((ev: any) => void) | null = null;
  onmessage: ((ev: any) => void) | null = null;
  onclose: ((ev: any) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  closed = false;
  constructor(readonly since: number | null) {}
  send(event: IEvent): void {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
  close(): void {
    this.closed = true;
    this.onclose?.({});
  }
  drop(): void {
    this.onclose?.({});
  }
}

function setup(listTasks: () => any[] = () => []) {
  const model = new TrioModel();
  const sockets: FakeSocket[] = [];
  const timers: Array<() => void> = [];
  let refetches = 0;
  const client = new EventsClient({
    model,
    connect: since => {
      const s = new FakeSocket(since);
      sockets.push(s);
      return s;
    },
    refetch: async () => {
      refetches++;
      model.load(listTasks(), [], model.lastEventId);
    },
    schedule: fn => timers.push(fn)
  });
  client.start();
  return { model, sockets, timers, client, refetches: () => refetches };
}

const flush = () => new Promise(resolve => setTimeout(resolve, 0));

describe('EventsClient', () => {
  it('loads the lists on hello, then applies events after hello.last_id', async () => {
    const { model, sockets, refetches } = setup(() => [
      { id: 'T1', name: 'a', kind: 'shell', status: 'queued', run: 1, gpus: [], pinned: false, created_at: 1 }
    ]);
    sockets[0].send({ type: 'hello', last_id: 100, refetch: false, progress: [], gpus: [] });
    // arrives while the lists load: applied on top of them, not lost
    sockets[0].send({ id: 101, type: 'task', task: { id: 'T1', status: 'running', run: 1 } });
    await flush();
    expect(refetches()).toBe(1);
    expect(model.tasks.get('T1')!.status).toBe('running');
    expect(model.lastEventId).toBe(101);
  });

  it('reconnects with since=<last id> and applies a replay exactly once', async () => {
    const { model, sockets, timers } = setup(() => [
      { id: 'T1', name: 'a', kind: 'shell', status: 'queued', run: 1, gpus: [], pinned: false, created_at: 1 }
    ]);
    sockets[0].send({ type: 'hello', last_id: 5, refetch: false });
    await flush();
    sockets[0].send({ id: 6, type: 'task', task: { id: 'T1', status: 'running', run: 1 } });
    sockets[0].drop();
    expect(timers.length).toBe(1);
    timers[0]();
    expect(sockets[1].since).toBe(6);
    sockets[1].send({ type: 'hello', last_id: 8, refetch: false });
    sockets[1].send({ id: 6, type: 'task', task: { id: 'T1', status: 'running', run: 1 } }); // a repeat
    sockets[1].send({ id: 7, type: 'task', task: { id: 'T1', status: 'completed', run: 1 } });
    expect(model.tasks.get('T1')!.status).toBe('completed');
    expect(model.lastEventId).toBe(7);
  });

  it('refetches when the server cannot replay, and after a reset', async () => {
    const { model, sockets, timers, refetches } = setup();
    sockets[0].send({ type: 'hello', last_id: 5, refetch: false });
    await flush();
    sockets[0].send({
      id: 6,
      type: 'task',
      task: { id: 'T2', name: 'b', kind: 'shell', status: 'queued', run: 1, created_at: 1 }
    });
    sockets[0].drop();
    timers.shift()!();
    sockets[1].send({ type: 'hello', last_id: 900, refetch: true });
    await flush();
    expect(refetches()).toBe(2);
    expect(model.lastEventId).toBe(900);
    sockets[1].send({ type: 'reset' });
    expect(model.lastEventId).toBeNull();
    timers.shift()!();
    expect(sockets[2].since).toBeNull();
  });

  it('backs off between reconnects and stops when disposed', () => {
    const { sockets, timers, client } = setup();
    sockets[0].drop();
    timers.shift()!();
    sockets[1].drop();
    expect(timers.length).toBe(1);
    client.dispose();
    timers.shift()!();
    expect(sockets.length).toBe(2);
  });
});
