/**
 * The "Run as job" dialog's pure parts: a parameter's value as typed (JSON, a Python literal, or text),
 * which parameters are sent, and the requests a filled form makes.
 */

import { nullTranslator } from '@jupyterlab/translation';

import { jobRequests, newJobForm } from '../jobform';
import { changedParameters, parsePythonLiteral, parseValue } from '../jobparams';

const trans = nullTranslator.load('jupyter_trio');

describe('parseValue', () => {
  it('reads JSON first', () => {
    expect(parseValue('0.1')).toBe(0.1);
    expect(parseValue(' 12 ')).toBe(12);
    expect(parseValue('"adam"')).toBe('adam');
    expect(parseValue('[1, 2, {"a": null}]')).toEqual([1, 2, { a: null }]);
    expect(parseValue('true')).toBe(true);
    expect(parseValue('null')).toBe(null);
  });

  it('reads the Python literals a parameters cell holds', () => {
    expect(parseValue("'adam'")).toBe('adam');
    expect(parseValue('True')).toBe(true);
    expect(parseValue('False')).toBe(false);
    expect(parseValue('None')).toBe(null);
    expect(parseValue('(1, 2)')).toEqual([1, 2]);
    expect(parseValue('(1,)')).toEqual([1]);
    expect(parseValue('[\'a\', "b",]')).toEqual(['a', 'b']);
    expect(parseValue("{'lr': 1e-3, 'layers': (64, 32), 'ok': True}")).toEqual({
      lr: 0.001,
      layers: [64, 32],
      ok: true
    });
    expect(parseValue('.5')).toBe(0.5);
    expect(parseValue('5.')).toBe(5);
    expect(parseValue('-3')).toBe(-3);
    expect(parseValue('1_000')).toBe(1000);
    expect(parseValue('0x1F')).toBe(31);
    expect(parseValue('0o17')).toBe(15);
    expect(parseValue("'it\\'s' ' joined'")).toBe("it's joined");
    expect(parseValue("r'C:\\data'")).toBe('C:\\data');
    expect(parseValue("'tab\\there\\x41\\u00e9'")).toBe('tab\there' + 'Aé');
    expect(parseValue("'''multi\nline'''")).toBe('multi\nline');
    expect(parseValue("{1: 'one'}")).toEqual({ '1': 'one' });
  });

  it('keeps anything else as the text itself', () => {
    expect(parseValue('adam')).toBe('adam');
    expect(parseValue('np.float32(0.1)')).toBe('np.float32(0.1)');
    expect(parseValue('1 + 2')).toBe('1 + 2');
    expect(parseValue("'unterminated")).toBe("'unterminated");
    expect(parseValue('-True')).toBe('-True');
    expect(parseValue('1j')).toBe('1j');
    expect(parseValue('')).toBe('');
    expect(parseValue('  ')).toBe('  ');
  });

  it('says when a text is not a Python literal', () => {
    expect(parsePythonLiteral('[1, 2')).toEqual({ ok: false });
    expect(parsePythonLiteral('{1 2}')).toEqual({ ok: false });
    expect(parsePythonLiteral('x')).toEqual({ ok: false });
    expect(parsePythonLiteral('[1] [2]')).toEqual({ ok: false });
    expect(parsePythonLiteral('[ ]')).toEqual({ ok: true, value: [] });
  });
});

describe('changedParameters', () => {
  it('sends only what the user changed, parsed', () => {
    const rows = [
      { name: 'lr', default: '0.1', value: '0.01' },
      { name: 'opt', default: "'adam'", value: "'adam'" },
      { name: 'seed', default: 'np.random.randint(10)', value: ' np.random.randint(10) ' },
      { name: 'tag', default: "'a'", value: 'b' },
      { name: 'flags', default: '[]', value: "['x']" }
    ];
    expect(changedParameters(rows)).toEqual({ lr: 0.01, tag: 'b', flags: ['x'] });
  });
});

describe('jobRequests', () => {
  const form = () => ({
    ...newJobForm('dir/train.ipynb', 'Europe/Paris'),
    rows: [{ name: 'epochs', default: '10', value: '3' }],
    kernel: 'python3'
  });

  it('runs now with the changed parameters, the notebook kernel as ""', () => {
    const { job, schedule } = jobRequests({ ...form(), gpus: '2' }, 'python3', trans);
    expect(job).toEqual({
      notebook: 'dir/train.ipynb',
      parameters: { epochs: 3 },
      kernel: '',
      gpus: 2,
      run: true
    });
    expect(schedule).toBeNull();
  });

  it('names another kernel, and the job when given a name', () => {
    const { job } = jobRequests({ ...form(), kernel: 'conda-ml', name: ' nightly ' }, 'python3', trans);
    expect(job.kernel).toBe('conda-ml');
    expect(job.name).toBe('nightly');
  });

  it('creates the job without running it for a schedule', () => {
    const { job, schedule } = jobRequests(
      { ...form(), when: 'schedule', cron: ' */5 * * * * ', overlap: 'queue' },
      'python3',
      trans
    );
    expect(job.run).toBe(false);
    expect(schedule).toEqual({ cron: '*/5 * * * *', timezone: 'Europe/Paris', overlap: 'queue' });
  });

  it('refuses what it can tell is wrong, in words', () => {
    expect(() => jobRequests({ ...form(), gpus: '1.5' }, '', trans)).toThrow('not a whole number');
    expect(() => jobRequests({ ...form(), gpus: '-1' }, '', trans)).toThrow('not a whole number');
    expect(() => jobRequests({ ...form(), when: 'schedule', cron: 'every day' }, '', trans)).toThrow(
      'not a cron line'
    );
    expect(jobRequests({ ...form(), gpus: '' }, '', trans).job.gpus).toBe(0);
  });
});
