import { nullTranslator } from '@jupyterlab/translation';

import { optimisationHistory } from '../chartmath';
import { formatValue } from '../format';
import { sweepStateLabel, trialStateLabel } from '../labels';
import { TrioModel } from '../model';
import { buildAxis, colormap, GREY, layout, parameterNames, position, ticks } from '../parallelcoords';
import { ISweep, SweepInfo, SweepSummary, sweepFromRest, TrialInfo, trialTaskName } from '../wire';

const trans = nullTranslator.load('jupyter_trio');

function summary(id: string, name: string, extra: Partial<SweepSummary> = {}): SweepSummary {
  return {
    id,
    name,
    owner: 'alice',
    state: 'running',
    message: '',
    metric: 'loss',
    direction: 'minimize',
    n_trials: 6,
    parallel: 2,
    sampler: 'tpe',
    pruner: 'median',
    trials_done: 0,
    best: null,
    created_at: Number(id.slice(1)),
    updated_at: Number(id.slice(1)),
    ...extra
  };
}

function trial(number: number, state: TrialInfo['state'], value: number | null, params = {}): TrialInfo {
  return { number, state, value, params, task: `T${100 + number}` };
}

function info(id: string, name: string, trials: TrialInfo[], extra: Partial<SweepSummary> = {}): SweepInfo {
  return { ...summary(id, name, extra), script_path: 'train.py', trials } as SweepInfo;
}

function sweeps(m: TrioModel): ISweep[] {
  return m.sweepList();
}

describe('TrioModel sweeps', () => {
  it('loads the REST list, newest first, and keeps them when a load has none', () => {
    const m = new TrioModel();
    m.load([], [], 1, [sweepFromRest(summary('S1', 'old')), sweepFromRest(summary('S2', 'new'))]);
    expect(sweeps(m).map(w => w.name)).toEqual(['new', 'old']);
    expect(m.sweepByName('old')!.id).toBe('S1');
    m.load([], [], 2); // the server could not list them: as they were
    expect(m.sweeps.size).toBe(2);
    m.load([], [], 3, [sweepFromRest(summary('S2', 'new'))]);
    expect([...m.sweeps.keys()]).toEqual(['S2']);
  });

  it('applies sweep events: progress, best, pruned; a new sweep; a deleted one', () => {
    const m = new TrioModel();
    m.load([], [], 10, [sweepFromRest(summary('S1', 'quad'))]);
    const rev = m.sweeps.get('S1')!.rev;
    let calls = 0;
    m.subscribe(() => calls++);
    const event = {
      id: 11,
      type: 'sweep',
      sweep: {
        id: 'S1',
        name: 'quad',
        state: 'running' as const,
        message: '',
        n_trials: 6,
        trials: 3,
        trials_done: 2,
        pruned: 1,
        best: { number: 0, value: 0.25 }
      }
    };
    expect(m.apply(event)).toBe(true);
    const w = m.sweeps.get('S1')!;
    expect(w.trials_done).toBe(2);
    expect(w.pruned).toBe(1);
    expect(w.best).toEqual({ number: 0, value: 0.25 });
    expect(w.metric).toBe('loss'); // the REST row's fields stay
    expect(w.rev).toBeGreaterThan(rev);
    expect(calls).toBe(1);
    expect(m.apply(event)).toBe(false); // a replay

    // a sweep the list did not have
    m.apply({ id: 12, type: 'sweep', sweep: { id: 'S2', name: 'fresh', state: 'running', n_trials: 4 } });
    expect(m.sweepByName('fresh')!.trials_done).toBe(0);
    expect(sweeps(m)[0].name).toBe('fresh');
    // an event without a name for an unknown sweep is not a sweep
    expect(m.apply({ id: 13, type: 'sweep', sweep: { id: 'S3', trials_done: 1 } })).toBe(false);
    expect(m.sweeps.has('S3')).toBe(false);

    m.setSweepDetail(info('S1', 'quad', [trial(0, 'complete', 0.25)]));
    m.apply({ id: 14, type: 'sweep.deleted', sweep: { id: 'S1' } });
    expect(m.sweeps.has('S1')).toBe(false);
    expect(m.sweepTrials.has('S1')).toBe(false);
  });

  it('keeps the best params of the same best trial; a new best replaces them', () => {
    const m = new TrioModel();
    const best = { number: 1, value: 0.5, params: { x: 0.2 } };
    m.load([], [], 1, [sweepFromRest(summary('S1', 'quad', { best }))]);
    m.apply({ id: 2, type: 'sweep', sweep: { id: 'S1', trials_done: 3, best: { number: 1, value: 0.5 } } });
    expect(m.sweeps.get('S1')!.best).toEqual(best);
    m.apply({ id: 3, type: 'sweep', sweep: { id: 'S1', best: { number: 4, value: 0.1 } } });
    expect(m.sweeps.get('S1')!.best).toEqual({ number: 4, value: 0.1 });
  });

  it('reads trials from a detail without bumping rev, and counts the pruned', () => {
    const m = new TrioModel();
    m.load([], [], 1, [sweepFromRest(summary('S1', 'quad'))]);
    const rev = m.sweeps.get('S1')!.rev;
    m.setSweepDetail(
      info('S1', 'quad', [trial(2, 'running', null), trial(0, 'complete', 0.3), trial(1, 'pruned', null)], {
        trials_done: 2
      })
    );
    const w = m.sweeps.get('S1')!;
    expect(w.rev).toBe(rev);
    expect(w.pruned).toBe(1);
    expect(w.trials).toBe(3);
    expect(w.trials_done).toBe(2);
    expect(m.sweepTrials.get('S1')!.map(t => t.number)).toEqual([0, 1, 2]);
    // a later load keeps the pruned count it cannot know
    m.load([], [], 2, [sweepFromRest(summary('S1', 'quad', { trials_done: 2 }))]);
    expect(m.sweeps.get('S1')!.pruned).toBe(1);
    expect(m.sweeps.get('S1')!.rev).toBeGreaterThan(rev);
  });

  it('filters sweeps by name and state', () => {
    const m = new TrioModel();
    m.load([], [], 1, [
      sweepFromRest(summary('S1', 'quad', { state: 'paused' })),
      sweepFromRest(summary('S2', 'lr-search'))
    ]);
    m.filter = 'LR';
    expect(sweeps(m).map(w => w.name)).toEqual(['lr-search']);
    m.filter = 'paused';
    expect(sweeps(m).map(w => w.name)).toEqual(['quad']);
  });
});

describe('sweep helpers', () => {
  it('names trial tasks and labels states', () => {
    expect(trialTaskName('quad', 7)).toBe('quad-0007');
    expect(sweepStateLabel('paused', trans)).toBe('paused');
    expect(trialStateLabel('fail', trans)).toBe('fail');
    expect(trialStateLabel('weird', trans)).toBe('weird');
    expect(formatValue(0.000123)).toBe('1.23e-4');
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(null)).toBe('—');
  });

  it('computes the optimisation history: complete trials only, best so far per direction', () => {
    const trials = [
      trial(3, 'complete', 0.4),
      trial(0, 'complete', 0.5),
      trial(1, 'pruned', 0.1),
      trial(2, 'complete', 0.2),
      trial(4, 'running', null),
      trial(5, 'complete', 0.3)
    ];
    expect(optimisationHistory(trials, 'minimize')).toEqual({
      numbers: [0, 2, 3, 5],
      values: [0.5, 0.2, 0.4, 0.3],
      best: [0.5, 0.2, 0.2, 0.2]
    });
    expect(optimisationHistory(trials, 'maximize').best).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
});

describe('parallel coordinates geometry', () => {
  const box = { width: 400, height: 240, margin: { left: 20, right: 80, top: 40, bottom: 40 } };

  it('builds linear, log and categorical axes', () => {
    expect(buildAxis('x', [0.2, 0.8, undefined])).toMatchObject({ kind: 'linear', min: 0.2, max: 0.8 });
    const lr = buildAxis('lr', [1e-5, 1e-3, 1e-1]);
    expect(lr.kind).toBe('log');
    expect(lr.min).toBeCloseTo(-5);
    expect(lr.max).toBeCloseTo(-1);
    expect(position(lr, 1e-3)).toBeCloseTo(0.5);
    expect(position(lr, -1)).toBeNull();
    const opt = buildAxis('opt', ['sgd', 'adam', 'sgd', 'rmsprop']);
    expect(opt.kind).toBe('categorical');
    expect(opt.categories).toEqual(['adam', 'rmsprop', 'sgd']);
    // spread evenly
    expect(['adam', 'rmsprop', 'sgd'].map(c => position(opt, c))).toEqual([1 / 6, 0.5, 5 / 6]);
    expect(position(opt, 'lamb')).toBeNull();
    expect(buildAxis('flag', [true, false]).categories).toEqual(['false', 'true']);
    const one = buildAxis('k', [3, 3]);
    expect(position(one, 3)).toBe(0.5);
    expect(ticks(one)).toEqual([['3', 0.5]]);
    expect(ticks(buildAxis('x', [0, 1]))).toEqual([
      ['0', 0],
      ['0.5', 0.5],
      ['1', 1]
    ]);
  });

  it('lays out an axis per parameter plus the objective, and a line per ended trial', () => {
    const trials = [
      trial(0, 'complete', 0.5, { x: 0, opt: 'adam' }),
      trial(1, 'complete', 0.1, { x: 1, opt: 'sgd' }),
      trial(2, 'pruned', null, { x: 0.5, opt: 'sgd' }),
      trial(3, 'fail', null, { x: 0.25 }),
      trial(4, 'running', null, { x: 0.75, opt: 'adam' }),
      trial(5, 'complete', 0.3, { x: 0.5, opt: 'adam' })
    ];
    expect(parameterNames(trials)).toEqual(['opt', 'x']);
    const plot = layout(trials, { metric: 'loss', direction: 'minimize', ...box });
    expect(plot.axes.map(a => [a.key, a.objective, a.x])).toEqual([
      ['opt', false, 20],
      ['x', false, 170],
      ['loss', true, 320]
    ]);
    expect(plot.lines.map(l => l.number)).toEqual([2, 3, 0, 5, 1]); // grey, then worst to best
    const byNumber = new Map(plot.lines.map(l => [l.number, l]));
    // pruned and failed: grey; the rest coloured, the best (lowest loss) brightest
    expect(byNumber.get(2)!.color).toBe(GREY);
    expect(byNumber.get(3)!.color).toBe(GREY);
    expect(byNumber.get(1)!.goodness).toBe(1);
    expect(byNumber.get(0)!.goodness).toBe(0);
    expect(byNumber.get(5)!.goodness).toBeCloseTo(0.5);
    expect(byNumber.get(1)!.color).toBe(colormap(1));
    // y: top 40, bottom 200 (plot height 160); x=1 at the top, x=0 at the bottom
    expect(byNumber.get(1)!.points[1]).toEqual([170, 40]);
    expect(byNumber.get(0)!.points[1]).toEqual([170, 200]);
    // categorical: adam at 1/4, sgd at 3/4 of the height
    expect(byNumber.get(0)!.points[0]).toEqual([20, 160]);
    expect(byNumber.get(1)!.points[0]).toEqual([20, 80]);
    // the objective: the lowest loss at the bottom of its axis
    expect(byNumber.get(1)!.points[2]).toEqual([320, 200]);
    // no value: the line breaks there
    expect(byNumber.get(2)!.points[2]).toBeNull();
    expect(byNumber.get(3)!.points[0]).toBeNull();
    expect(byNumber.has(4)).toBe(false);
  });

  it('maximising makes the highest value the best; one axis sits in the middle', () => {
    const trials = [trial(0, 'complete', 0.5), trial(1, 'complete', 0.9)];
    const plot = layout(trials, { metric: 'acc', direction: 'maximize', ...box });
    expect(plot.axes).toHaveLength(1);
    expect(plot.axes[0].x).toBe(170);
    expect(plot.lines.map(l => [l.number, l.goodness])).toEqual([
      [0, 0],
      [1, 1]
    ]);
    expect(colormap(0)).toBe('rgb(68, 1, 84)');
    expect(colormap(1)).toBe('rgb(253, 231, 37)');
    expect(layout([], { metric: 'acc', direction: 'maximize', ...box }).lines).toEqual([]);
  });
});
