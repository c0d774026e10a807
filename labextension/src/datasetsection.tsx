/** The datasets section: each dataset's type, state, size and import progress. */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { datasetStatusLabel, datasetTypeLabel } from './labels';
import type { IDataset } from './wire';

export function DatasetRow(props: { dataset: IDataset; trans: TranslationBundle }): JSX.Element {
  const { dataset: d, trans } = props;
  return (
    <li className="jp-trio-dataset" data-dataset={d.id} data-status={d.status}>
      <span className="jp-trio-task-name">{d.name}</span>
      <span className="jp-trio-chip">{datasetTypeLabel(d.dataset_type, trans)}</span>
      <span className="jp-trio-chip jp-trio-state">{datasetStatusLabel(d.status, trans)}</span>
      {d.num_images ? (
        <span className="jp-trio-run">{trans._n('%1 image', '%1 images', d.num_images)}</span>
      ) : null}
      {d.progress !== undefined ? (
        <div className="jp-trio-progress-bar">
          <div className="jp-trio-progress-fill" style={{ width: `${d.progress * 100}%` }} />
        </div>
      ) : null}
    </li>
  );
}

/** Every dataset's row, or "none imported". */
export function DatasetSection(props: { datasets: IDataset[]; trans: TranslationBundle }): JSX.Element {
  const { datasets, trans } = props;
  return (
    <section className="jp-trio-group" data-group="datasets">
      <h3>{trans.__('Datasets')}</h3>
      {datasets.length ? (
        <ul>
          {datasets.map(d => (
            <DatasetRow key={d.id} dataset={d} trans={trans} />
          ))}
        </ul>
      ) : (
        <div className="jp-trio-empty">{trans.__('none imported')}</div>
      )}
    </section>
  );
}
