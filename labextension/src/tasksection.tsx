/** A section of tasks in one state (running, queued...): its top-level tasks, a few hundred at a time. */

import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { ISidebarOptions } from './sidebar';
import { TaskRow } from './taskrow';
import type { ITask } from './wire';

const SHOWN = 200; // rows per group before "show more" (the whole list stays in the model)

export function TaskSection(props: {
  title: string;
  tasks: ITask[];
  opts: ISidebarOptions;
  id: string;
}): JSX.Element {
  const { trans } = props.opts;
  const [limit, setLimit] = React.useState(SHOWN);
  const top = props.tasks.filter(t => !(t.parent_id && props.opts.model.tasks.has(t.parent_id)));
  return (
    <section className="jp-trio-group" data-group={props.id}>
      <h3>
        {props.title} <span className="jp-trio-count">{top.length}</span>
      </h3>
      {top.length ? (
        <ul>
          {top.slice(0, limit).map(t => (
            <TaskRow key={t.id} task={t} opts={props.opts} />
          ))}
        </ul>
      ) : (
        <div className="jp-trio-empty">{trans.__('none')}</div>
      )}
      {top.length > limit ? (
        <Button minimal small onClick={() => setLimit(limit + SHOWN)}>
          {trans._n('Show %1 more', 'Show %1 more', Math.min(SHOWN, top.length - limit))}
        </Button>
      ) : null}
    </section>
  );
}
