import { align, forLogScale, smooth } from '../chartmath';
import { LogBuffer, visibleRange } from '../logbuffer';

describe('LogBuffer', () => {
  it('joins lines split across chunks and keeps the offset', () => {
    const b = new LogBuffer();
    expect(b.append('line 1\nli', 9)).toBe(1);
    expect(b.length).toBe(2);
    expect(b.line(1)).toBe('li');
    b.append('ne 2\nline 3\n', 21);
    expect(b.lines).toEqual(['line 1', 'line 2', 'line 3']);
    expect(b.length).toBe(3);
    expect(b.nextOffset).toBe(21);
  });

  it('searches case-insensitively, including the unfinished line', () => {
    const b = new LogBuffer();
    b.append('Epoch 1 loss=0.5\nepoch 2 loss=0.4\nERROR boom\nepoch 3');
    expect(b.search('EPOCH')).toEqual([0, 1, 3]);
    expect(b.search('error')).toEqual([2]);
    expect(b.search('')).toEqual([]);
  });

  it('holds 100,000 lines and draws only a window of them', () => {
    const b = new LogBuffer();
    const text = Array.from({ length: 100_000 }, (_, i) => `line ${i}`).join('\n') + '\n';
    b.append(text);
    expect(b.length).toBe(100_000);
    const r = visibleRange(17 * 50_000, 600, 17, b.length);
    expect(r.start).toBe(50_000 - 20);
    expect(r.end - r.start).toBeLessThan(100);
    expect(visibleRange(0, 600, 17, 5)).toEqual({ start: 0, end: 5 });
  });
});

describe('chart math', () => {
  it('smooths with a debiased moving average', () => {
    expect(smooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = smooth([10, 10, 10], 0.9);
    s.forEach(v => expect(v).toBeCloseTo(10));
    const r = smooth([0, 10], 0.5);
    expect(r[0]).toBe(0);
    expect(r[1]).toBeCloseTo(((0 * 0.5 + 0.5 * 0) * 0.5 + 0.5 * 10) / 0.75);
  });

  it('keeps the nulls of a series reply (NaN, infinity) as gaps when smoothing', () => {
    const s = smooth([10, null, 10], 0.9);
    expect(s[1]).toBeNull();
    expect(s[2]).toBeCloseTo(10);
  });

  it('aligns runs on the union of their steps', () => {
    expect(
      align([
        { steps: [1, 3], values: [10, 30] },
        { steps: [2, 3], values: [20, 31] }
      ])
    ).toEqual([
      [1, 2, 3],
      [10, null, 30],
      [null, 20, 31]
    ]);
  });

  it('drops what a log scale cannot draw', () => {
    expect(forLogScale([1, 0, -2, null, 0.5])).toEqual([1, null, null, null, 0.5]);
  });
});

import { errorMessage } from '../api';

describe('errorMessage', () => {
  it('reads the reason of every error shape the server answers', () => {
    expect(errorMessage({ error: { code: 'validation_failed', message: 'num_epochs: must be > 0' } })).toBe(
      'num_epochs: must be > 0'
    );
    expect(errorMessage({ status: -1, message: 'no such task' })).toBe('no such task');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage(undefined)).toBe('');
  });
});
