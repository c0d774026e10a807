/**
 * Comparing runs: the queries the view sends, which parameters differ, the columns and axes it starts with,
 * brushing the parallel coordinates, the virtualised table's window, the scatter's points, and the
 * sidebar's selection of tasks.
 */

import { nullTranslator } from '@jupyterlab/translation';

import {
  defaultAxes,
  defaultColor,
  defaultColumns,
  differingColumns,
  lowerIsBetter,
  nextSort,
  rangeBetween,
  scatterData,
  shownColumns
} from '../compare';
import {
  axisAt,
  brushFromPositions,
  brushMask,
  brushSpan,
  buildAxis,
  colormap,
  GREY,
  inBrush,
  layoutRows,
  positionAtY
} from '../parallelcoords';
import {
  columnRef,
  errorPosition,
  IRunColumn,
  metricSeries,
  quote,
  runKey,
  RunRow,
  runsParams,
  splitMetric,
  sweepWhere,
  tasksWhere
} from '../runsapi';
import { formatCell, RunTable, rowWindow } from '../runtable';
import { TaskSelection } from '../selection';

const trans = nullTranslator.load('jupyter_trio');

const COLUMNS: IRunColumn[] = [
  { name: 'task', kind: 'attribute', type: 'string' },
  { name: 'task_id', kind: 'attribute', type: 'string' },
  { name: 'run', kind: 'attribute', type: 'number' },
  { name: 'status', kind: 'attribute', type: 'string' },
  { name: 'duration', kind: 'attribute', type: 'number' },
  { name: 'owner', kind: 'attribute', type: 'string' },
  { name: 'lr', kind: 'param', type: 'number' },
  { name: 'optimizer.name', kind: 'param', type: 'string' },
  { name: 'epochs', kind: 'param', type: 'number' },
  { name: 'acc.last', kind: 'metric', type: 'number' },
  { name: 'acc.max', kind: 'metric', type: 'number' },
  { name: 'acc.best', kind: 'metric', type: 'number' },
  { name: 'loss.min', kind: 'metric', type: 'number' }
];

function run(task: string, lr: number, opt: string, acc: number | null, extra: RunRow = {}): RunRow {
  return {
    task,
    task_id: `T-${task}`,
    run: 1,
    status: 'completed',
    duration: 12,
    owner: 'alice',
    lr,
    'optimizer.name': opt,
    epochs: 3,
    'acc.last': acc,
    'acc.max': acc,
    'acc.best': acc,
    'loss.min': acc === null ? null : 1 - acc,
    ...extra
  };
}

const RUNS = [run('a', 0.1, 'sgd', 0.7), run('b', 0.01, 'sgd', 0.9), run('c', 0.001, 'adam', 0.8)];

describe('the runs query', () => {
  it('quotes names and builds task and sweep queries', () => {
    expect(quote('plain')).toBe('"plain"');
    expect(quote('say "hi"\\now')).toBe('"say \\"hi\\"\\\\now"');
    expect(tasksWhere(['a', 'b', 'a'])).toBe('task in ("a", "b")');
    expect(tasksWhere([])).toBe('');
    expect(sweepWhere('quad')).toBe('sweep = "quad"');
  });

  it('sends only what is set, with the limit within 1..10,000', () => {
    expect(runsParams({})).toEqual({});
    expect(runsParams({ where: '  ', columns: [] })).toEqual({});
    expect(
      runsParams({ where: 'lr < 1e-3', columns: ['task', 'lr'], sort: 'acc.max', limit: 50000, offset: 20 })
    ).toEqual({
      where: 'lr < 1e-3',
      columns: 'task,lr',
      sort: 'acc.max',
      order: 'asc',
      limit: 10000,
      offset: 20
    });
    expect(runsParams({ sort: 'lr', order: 'desc', limit: 0 })).toEqual({
      sort: 'lr',
      order: 'desc',
      limit: 1
    });
  });

  it('writes column names as the query language reads them', () => {
    expect(columnRef('optimizer.lr')).toBe('optimizer.lr');
    expect(columnRef('lr-max')).toBe('`lr-max`');
    expect(columnRef('layers.0.size')).toBe('layers.`0`.size');
    expect(columnRef('my param.in')).toBe('`my param`.`in`');
    expect(columnRef('acc.at(3)')).toBe('acc.at(3)');
    expect(runsParams({ sort: 'layers.0.size', columns: ['task', 'a b'] })).toEqual({
      sort: 'layers.`0`.size',
      order: 'asc',
      columns: 'task,`a b`'
    });
  });

  it('finds the position a refusal names', () => {
    expect(errorPosition('unexpected token at position 12')).toBe(12);
    expect(errorPosition('expected a value (column 3)')).toBe(3);
    expect(errorPosition('unknown column lr2')).toBeNull();
  });

  it('splits metric columns into series and aggregates', () => {
    expect(splitMetric('acc.max')).toEqual(['acc', 'max']);
    expect(splitMetric('val.acc.best')).toEqual(['val.acc', 'best']);
    expect(splitMetric('optimizer.lr')).toBeNull();
    expect(splitMetric('acc.count')).toEqual(['acc', 'count']);
    expect(splitMetric('acc.at(3)')).toEqual(['acc', 'at(3)']);
    expect(metricSeries(COLUMNS)).toEqual(['acc', 'loss']);
    expect(runKey(RUNS[0])).toBe('T-a#1');
  });
});

describe('comparing runs', () => {
  it('finds the parameters that differ (a missing value differs from a present one)', () => {
    const params = ['lr', 'optimizer.name', 'epochs'];
    expect([...differingColumns(RUNS, params)].sort()).toEqual(['lr', 'optimizer.name']);
    expect([...differingColumns(RUNS.slice(0, 2), params)]).toEqual(['lr']);
    expect(differingColumns(RUNS.slice(0, 1), params).size).toBe(0);
    const missing = [run('a', 0.1, 'sgd', 0.7), { ...run('b', 0.1, 'sgd', 0.7), epochs: undefined }];
    expect([...differingColumns(missing, params)]).toEqual(['epochs']);
    // null and missing are the same
    const nulls = [
      { ...RUNS[0], epochs: null },
      { ...RUNS[0], epochs: undefined }
    ];
    expect(differingColumns(nulls, params).size).toBe(0);
  });

  it('starts with the main attributes, every parameter and each series once', () => {
    expect(defaultColumns(COLUMNS)).toEqual([
      'task',
      'run',
      'status',
      'duration',
      'lr',
      'optimizer.name',
      'epochs',
      'acc.last',
      'loss.min'
    ]);
  });

  it('shows only the differing parameters when asked, in the picked order', () => {
    const picked = ['task', 'epochs', 'lr', 'acc.max', 'gone'];
    const differing = new Set(['lr']);
    expect(shownColumns(picked, COLUMNS, true, differing)).toEqual(['task', 'lr', 'acc.max']);
    expect(shownColumns(picked, COLUMNS, false, differing)).toEqual(['task', 'epochs', 'lr', 'acc.max']);
  });

  it('colours by a best metric and puts the differing parameters on the axes', () => {
    expect(defaultColor(COLUMNS)).toBe('acc.best');
    expect(defaultColor(COLUMNS.filter(c => c.name !== 'acc.best'))).toBe('acc.last');
    expect(defaultColor(COLUMNS.filter(c => c.kind !== 'metric'))).toBeNull();
    // a loss, an error or a time: lower is better
    expect(['loss.min', 'val_error.last', 'rmse.best', 'duration'].map(lowerIsBetter)).toEqual([
      true,
      true,
      true,
      true
    ]);
    expect(['acc.max', 'f1.best', null].map(lowerIsBetter)).toEqual([false, false, false]);
    expect(defaultAxes(COLUMNS, RUNS, 'acc.best')).toEqual(['lr', 'optimizer.name', 'acc.best']);
    // nothing differs: every parameter
    expect(defaultAxes(COLUMNS, RUNS.slice(0, 1), null)).toEqual(['lr', 'optimizer.name', 'epochs']);
  });

  it('sorts up on a new column and flips the sorted one', () => {
    expect(nextSort({ sort: null, order: 'asc' }, 'lr')).toEqual({ sort: 'lr', order: 'asc' });
    expect(nextSort({ sort: 'lr', order: 'asc' }, 'lr')).toEqual({ sort: 'lr', order: 'desc' });
    expect(nextSort({ sort: 'lr', order: 'desc' }, 'lr')).toEqual({ sort: 'lr', order: 'asc' });
    expect(nextSort({ sort: 'lr', order: 'desc' }, 'acc.max')).toEqual({ sort: 'acc.max', order: 'asc' });
  });

  it('selects ranges either way', () => {
    const order = ['a', 'b', 'c', 'd'];
    expect(rangeBetween(order, 'b', 'd')).toEqual(['b', 'c', 'd']);
    expect(rangeBetween(order, 'd', 'a')).toEqual(['a', 'b', 'c', 'd']);
    expect(rangeBetween(order, null, 'c')).toEqual(['c']);
    expect(rangeBetween(order, 'zz', 'c')).toEqual(['c']);
  });

  it('plots two numeric columns sorted by x, split by the brushes', () => {
    const rows = [...RUNS, run('d', 0.05, 'sgd', null)];
    expect(scatterData(rows, 'lr', 'acc.max')).toEqual([
      [0.001, 0.01, 0.1],
      [null, null, null],
      [0.8, 0.9, 0.7]
    ]);
    expect(scatterData(rows, 'lr', 'acc.max', [true, false, false, true])).toEqual([
      [0.001, 0.01, 0.1],
      [0.8, 0.9, null],
      [null, null, 0.7]
    ]);
    expect(scatterData(rows, 'lr', 'task')[0]).toEqual([]); // a string column has no points
  });
});

describe('parallel coordinates of any runs', () => {
  const box = { width: 400, height: 240, margin: { left: 20, right: 80, top: 40, bottom: 40 } };
  const plotOf = (rows: RunRow[], color: string | null, direction?: 'minimize' | 'maximize') =>
    layoutRows(rows, {
      axes: [{ key: 'lr' }, { key: 'optimizer.name' }, { key: 'acc.max', objective: true }],
      valueOf: (row, axis) => row[axis.key],
      colorOf: row => (color ? (row[color] as number | null) : null),
      direction,
      ...box
    });

  it('lays out an axis per column and a line per run, coloured by a column', () => {
    const rows = [...RUNS, run('d', 0.0001, 'sgd', null)]; // lr over three decades: a log axis
    const plot = plotOf(rows, 'acc.max');
    expect(plot.axes.map(a => [a.key, a.kind, a.objective, a.x])).toEqual([
      ['lr', 'log', false, 20],
      ['optimizer.name', 'categorical', false, 170],
      ['acc.max', 'linear', true, 320]
    ]);
    // grey (no value) first, then from the lowest accuracy to the highest
    expect(plot.lines.map(l => l.index)).toEqual([3, 0, 2, 1]);
    const byIndex = new Map(plot.lines.map(l => [l.index, l]));
    expect(byIndex.get(3)!.color).toBe(GREY);
    expect(byIndex.get(1)!.goodness).toBe(1);
    expect(byIndex.get(1)!.color).toBe(colormap(1));
    expect(byIndex.get(0)!.goodness).toBe(0);
    expect(byIndex.get(3)!.points[2]).toBeNull();
    // lower is better: the other way round
    const minimize = plotOf(rows, 'acc.max', 'minimize');
    expect(minimize.lines.map(l => l.index)).toEqual([3, 1, 2, 0]);
    // no colour column: all grey, in row order
    expect(plotOf(rows, null).lines.every(l => l.color === GREY)).toBe(true);
  });

  it('turns a drag on a numeric axis into a range of values', () => {
    const axis = buildAxis('x', [0, 10]);
    const brush = brushFromPositions(axis, 0.8, 0.2);
    expect(brush.key).toBe('x');
    expect(brush.min).toBeCloseTo(2);
    expect(brush.max).toBeCloseTo(8);
    expect(inBrush(brush, 2)).toBe(true);
    expect(inBrush(brush, 8)).toBe(true);
    expect(inBrush(brush, 8.5)).toBe(false);
    expect(inBrush(brush, null)).toBe(false);
    expect(inBrush(brush, '5')).toBe(false);
    expect(brushSpan(axis, brush)![0]).toBeCloseTo(0.2);
    expect(brushSpan(axis, brush)![1]).toBeCloseTo(0.8);
  });

  it('brushes a log axis in its values and a categorical one by its categories', () => {
    const lr = buildAxis('lr', [1e-5, 1e-1]);
    const brush = brushFromPositions(lr, 0.25, 0.75); // 1e-4 .. 1e-2
    expect(inBrush(brush, 1e-4)).toBe(true);
    expect(inBrush(brush, 1e-3)).toBe(true);
    expect(inBrush(brush, 1e-2)).toBe(true);
    expect(inBrush(brush, 2e-2)).toBe(false);
    expect(inBrush(brush, 5e-5)).toBe(false);
    const opt = buildAxis('opt', ['adam', 'rmsprop', 'sgd']); // at 1/6, 1/2, 5/6
    const top = brushFromPositions(opt, 0.4, 1);
    expect(top.categories).toEqual(['rmsprop', 'sgd']);
    expect(inBrush(top, 'sgd')).toBe(true);
    expect(inBrush(top, 'adam')).toBe(false);
    expect(brushSpan(opt, top)).toEqual([1 / 3, 1]);
    // an axis of one value: the brush takes it or not
    const one = buildAxis('k', [3, 3]);
    expect(inBrush(brushFromPositions(one, 0.4, 0.6), 3)).toBe(true);
    expect(inBrush(brushFromPositions(one, 0.7, 0.9), 3)).toBe(false);
  });

  it('keeps the rows inside every brush', () => {
    const lr = brushFromPositions(
      buildAxis(
        'lr',
        RUNS.map(r => r.lr)
      ),
      0,
      0.75
    ); // 0.001 .. 0.075
    const acc = brushFromPositions(buildAxis('acc.max', [0.7, 0.9]), 0.25, 1); // 0.75 .. 0.9
    const valueOf = (row: RunRow, key: string) => row[key];
    expect(brushMask(RUNS, valueOf, [])).toEqual([true, true, true]);
    expect(brushMask(RUNS, valueOf, [lr])).toEqual([false, true, true]);
    expect(brushMask(RUNS, valueOf, [acc])).toEqual([false, true, true]);
    const low = brushFromPositions(buildAxis('acc.max', [0.7, 0.9]), 0, 0.6); // 0.7 .. 0.82
    expect(brushMask(RUNS, valueOf, [lr, low])).toEqual([false, false, true]);
  });

  it('finds the axis under the pointer and the position of a y', () => {
    const plot = plotOf(RUNS, 'acc.max');
    expect(axisAt(plot, 165, 100)!.key).toBe('optimizer.name');
    expect(axisAt(plot, 95, 100)).toBeNull(); // between two axes
    expect(axisAt(plot, 320, 5)).toBeNull(); // above the plot
    expect(positionAtY(plot.box, 40)).toBe(1);
    expect(positionAtY(plot.box, 200)).toBe(0);
    expect(positionAtY(plot.box, 120)).toBe(0.5);
    expect(positionAtY(plot.box, 500)).toBe(0);
  });

  it('lays out and brushes 10,000 runs quickly', () => {
    const many: RunRow[] = Array.from({ length: 10000 }, (_, i) =>
      run(`t${i}`, 10 ** -(1 + (i % 5)), i % 3 ? 'sgd' : 'adam', (i % 997) / 997)
    );
    const started = Date.now();
    const plot = plotOf(many, 'acc.max');
    const brush = brushFromPositions(plot.axes[2], 0.5, 1);
    const mask = brushMask(many, (row, key) => row[key], [brush]);
    expect(plot.lines).toHaveLength(10000);
    expect(mask.filter(Boolean).length).toBeGreaterThan(4000);
    expect(Date.now() - started).toBeLessThan(2000); // generous: jest on a shared machine
  });
});

describe('the run table', () => {
  it('puts only the rows in view (and a few more) in the DOM', () => {
    expect(rowWindow(0, 240, 24, 10000, 8)).toEqual([0, 18]);
    expect(rowWindow(2400, 240, 24, 10000, 8)).toEqual([92, 118]);
    expect(rowWindow(1e9, 240, 24, 10000, 8)).toEqual([10000, 10000]);
    expect(rowWindow(0, 240, 24, 3, 8)).toEqual([0, 3]);
  });

  it('shows 10,000 runs with a few dozen rows, sorts by a header and selects ranges', () => {
    const sorted: string[] = [];
    let selections = 0;
    const table = new RunTable({ trans, onSort: c => sorted.push(c), onSelect: () => selections++ });
    document.body.append(table.node);
    const rows = Array.from({ length: 10000 }, (_, i) => run(`t${i}`, 0.1, 'sgd', 0.5));
    table.setData(rows, COLUMNS.slice(0, 7), 'lr', 'desc');
    const shown = table.node.querySelectorAll('.jp-trio-runtable-row');
    expect(shown.length).toBeGreaterThan(10);
    expect(shown.length).toBeLessThan(60);
    expect(table.node.dataset.rows).toBe('10000');
    const header = table.node.querySelector('[data-column="lr"]')!;
    expect(header.getAttribute('aria-sort')).toBe('descending');
    (header.querySelector('button') as HTMLButtonElement).click();
    expect(sorted).toEqual(['lr']);

    const boxes = () => table.node.querySelectorAll<HTMLInputElement>('.jp-trio-runtable-row input');
    boxes()[1].click();
    boxes()[4].dispatchEvent(new MouseEvent('click', { shiftKey: true, bubbles: true }));
    expect([...table.selected]).toEqual(['T-t1#1', 'T-t2#1', 'T-t3#1', 'T-t4#1']);
    expect(table.selectedRows(rows).map(r => r.task)).toEqual(['t1', 't2', 't3', 't4']);
    expect(selections).toBe(2);
    table.node.remove();
  });

  it('writes cells in the user’s words', () => {
    expect(formatCell('status', 'completed', trans)).toBe('completed');
    expect(formatCell('duration', 185, trans)).toBe('3m 05s');
    expect(formatCell('run', 12345, trans)).toBe('12345');
    expect(formatCell('lr', 0.00012345, trans)).toBe('1.23e-4');
    expect(formatCell('lr', null, trans)).toBe('—');
    expect(formatCell('flag', true, trans)).toBe('true');
  });
});

describe('the sidebar selection', () => {
  it('toggles, extends a range from the last toggled, forgets deleted tasks', () => {
    const selection = new TaskSelection();
    let changes = 0;
    selection.subscribe(() => changes++);
    selection.order = ['a', 'b', 'c', 'd', 'e'];
    selection.toggle('b');
    selection.extend('d');
    expect(selection.names).toEqual(['b', 'c', 'd']);
    selection.toggle('c');
    expect(selection.names).toEqual(['b', 'd']);
    selection.setAll(['a', 'e'], true);
    expect(selection.size).toBe(4);
    selection.retain(new Set(['a', 'b']));
    expect(selection.names.sort()).toEqual(['a', 'b']);
    selection.clear();
    expect(selection.size).toBe(0);
    expect(changes).toBe(6);
  });
});

describe('the sidebar rows', () => {
  // jest's CommonJS require (the test tsconfig types jest only; react-dom comes untyped)
  const { renderToStaticMarkup } = (globalThis as any).require
    ? (globalThis as any).require('react-dom/server')
    : jest.requireActual('react-dom/server');
  const React = jest.requireActual('react');
  const { SidebarView } = jest.requireActual('../sidebar');
  const { TrioModel } = jest.requireActual('../model');

  function task(id: string, status: string) {
    return {
      id,
      name: `t-${id}`,
      kind: 'train',
      status,
      run: 1,
      gpus: [],
      pinned: id === 'T2',
      created_at: 1
    };
  }

  it('have a checkbox, icon actions with labels, and "Compare (n)" for two or more', () => {
    const model = new TrioModel();
    model.load([task('T1', 'completed'), task('T2', 'failed'), task('T3', 'running')], [], 1);
    const selection = new TaskSelection();
    const render = () =>
      renderToStaticMarkup(
        React.createElement(SidebarView, {
          opts: { model, api: {} as any, commands: {} as any, confirmDelete: () => true, trans, selection }
        })
      );
    let html = render();
    expect(html).toContain('aria-label="Select t-T1 to compare"');
    expect(html).not.toContain('jp-trio-selection'); // nothing selected: no bar
    for (const label of ['Log', 'Metrics', 'Details', 'Rerun', 'Stop', 'Resume', 'Pin', 'Unpin', 'Delete']) {
      expect(html).toContain(`title="${label}"`);
    }
    selection.toggle('t-T1');
    html = render();
    expect(html).toContain('data-count="1"');
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*>.*Compare \(1\)/);
    selection.toggle('t-T2');
    html = render();
    expect(html).toContain('Compare (2)');
    expect(html).toContain('2 selected');
    expect(html).toMatch(/data-task="t-T1"[^>]*data-selected="true"/);
    // the order a shift-click's range runs over: the running one first, then the finished ones
    expect(selection.order[0]).toBe('t-T3');
    expect([...selection.order].sort()).toEqual(['t-T1', 't-T2', 't-T3']);
  });
});
