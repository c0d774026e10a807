/**
 * A section of tasks in one state (running, queued...): its top-level tasks, a few hundred at a time, and a
 * checkbox selecting all of them to compare.
 */

import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { TaskSelection } from './selection';
import type { ISidebarOptions } from './sidebar';
import { TaskRow } from './taskrow';
import type { ITask } from './wire';

const SHOWN = 200; // rows per group before "show more" (the whole list stays in the model)

/** Select (or unselect) every task shown in a section; partly checked when some are. */
function SelectAll(props: { names: string[]; selection: TaskSelection; label: string }): JSX.Element {
  const { names, selection } = props;
  const count = names.filter(n => selection.has(n)).length;
  const ref = React.useRef<HTMLInputElement>(null);
  React.useEffect(() => {
    if (ref.current) {
      ref.current.indeterminate = count > 0 && count < names.length;
    }
  });
  return (
    <input
      ref={ref}
      type="checkbox"
      className="jp-trio-select jp-trio-select-all"
      checked={count > 0 && count === names.length}
      aria-label={props.label}
      title={props.label}
      onChange={e => selection.setAll(names, e.target.checked)}
    />
  );
}

export function TaskSection(props: {
  title: string;
  tasks: ITask[];
  opts: ISidebarOptions;
  id: string;
}): JSX.Element {
  const { trans, selection } = props.opts;
  const [limit, setLimit] = React.useState(SHOWN);
  const top = props.tasks.filter(t => !(t.parent_id && props.opts.model.tasks.has(t.parent_id)));
  const shown = top.slice(0, limit);
  return (
    <section className="jp-trio-group" data-group={props.id}>
      <h3>
        {selection && shown.length ? (
          <SelectAll
            names={shown.map(t => t.name)}
            selection={selection}
            label={trans.__('Select every task of %1', props.title)}
          />
        ) : null}
        {props.title} <span className="jp-trio-count">{top.length}</span>
      </h3>
      {top.length ? (
        <ul>
          {shown.map(t => (
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
