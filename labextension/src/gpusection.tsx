/** The GPUs section: a card per GPU with its utilisation, memory, holder and unleased use. */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatBytes } from './format';
import { unleasedNote } from './labels';
import type { IGpu } from './wire';

export function GpuCard(props: { gpu: IGpu; trans: TranslationBundle }): JSX.Element {
  const { gpu: g, trans } = props;
  const note = unleasedNote(g.unleased, trans);
  const mem = g.memory_total ? (100 * (g.memory_used ?? 0)) / g.memory_total : 0;
  return (
    <div className="jp-trio-gpu" data-gpu={g.index}>
      <div className="jp-trio-gpu-head">
        {trans.__('GPU %1', g.index)} {g.name ? <span className="jp-trio-gpu-name">{g.name}</span> : null}
        {g.temperature !== null && g.temperature !== undefined ? <span> · {g.temperature}°C</span> : null}
      </div>
      <div className="jp-trio-meter" title={trans.__('utilisation')}>
        <div className="jp-trio-meter-fill" style={{ width: `${g.utilization ?? 0}%` }} />
        <span>{trans.__('util %1%', g.utilization ?? '?')}</span>
      </div>
      <div className="jp-trio-meter" title={trans.__('memory')}>
        <div className="jp-trio-meter-fill" style={{ width: `${mem}%` }} />
        <span>{trans.__('mem %1 / %2', formatBytes(g.memory_used), formatBytes(g.memory_total))}</span>
      </div>
      <div className="jp-trio-gpu-task" data-state={g.state ?? 'free'}>
        {g.task
          ? `${g.task.name} #${g.task.run}`
          : g.state === 'other'
            ? g.user
              ? trans.__('held by %1', g.user)
              : trans.__('held by another user')
            : trans.__('none')}
      </div>
      {note ? (
        <div className="jp-trio-gpu-unleased" style={{ color: 'var(--jp-warn-color1)' }}>
          ⚠ {note}
        </div>
      ) : null}
    </div>
  );
}

/** Every GPU's card, or "none (CPU only)". */
export function GpuSection(props: { gpus: IGpu[]; trans: TranslationBundle }): JSX.Element {
  const { gpus, trans } = props;
  return (
    <section className="jp-trio-group" data-group="gpus">
      <h3>{trans.__('GPUs')}</h3>
      {gpus.length ? (
        gpus.map(g => <GpuCard key={g.index} gpu={g} trans={trans} />)
      ) : (
        <div className="jp-trio-empty">{trans.__('none (CPU only)')}</div>
      )}
    </section>
  );
}
