/**
 * A notebook job's parameter values as the user types them in the "Run as job" dialog: JSON, or a Python
 * literal as the ``parameters`` cell writes it (``'adam'``, ``True``, ``(1, 2)``, ``None``), or else the text
 * itself as a string. Pure (no DOM, no JupyterLab), so the jest tests drive it directly.
 */

/** One row of the dialog: a parameter, its default's source text and what the user made of it. */
export interface IParameterRow {
  name: string;
  /** the source text in the notebook's parameters cell */
  default: string;
  /** the text in the dialog (the default to begin with) */
  value: string;
}

/** A parameter's value: JSON where the text is JSON, a Python literal's value, else the text as a string. */
export function parseValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed) {
    try {
      return JSON.parse(trimmed);
    } catch {
      // not JSON: a Python literal, maybe
    }
    const literal = parsePythonLiteral(trimmed);
    if (literal.ok) {
      return literal.value;
    }
  }
  return text;
}

/**
 * The values to inject: only the rows the user changed (an unchanged row keeps the notebook's own default,
 * which may be an expression no literal can say).
 */
export function changedParameters(rows: IParameterRow[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of rows) {
    if (row.value.trim() !== row.default.trim()) {
      out[row.name] = parseValue(row.value);
    }
  }
  return out;
}

type Parsed = { ok: true; value: unknown } | { ok: false };

const NAMES: Record<string, unknown> = { True: true, False: false, None: null };
const NUMBER =
  /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)/;
const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '\n': ''
};

/**
 * A Python literal (``ast.literal_eval``'s strings, numbers, True/False/None, lists, tuples and dicts) as
 * its JSON value; ``{ok: false}`` for anything else (a name, a call, an expression).
 */
export function parsePythonLiteral(text: string): Parsed {
  const p = new LiteralParser(text);
  try {
    const value = p.value();
    p.space();
    return p.done() ? { ok: true, value } : { ok: false };
  } catch {
    return { ok: false };
  }
}

class LiteralParser {
  private i = 0;

  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i >= this.s.length;
  }

  space(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) {
      this.i++;
    }
  }

  private fail(): never {
    throw new Error(`not a literal at ${this.i}`);
  }

  private eat(c: string): boolean {
    this.space();
    if (this.s[this.i] === c) {
      this.i++;
      return true;
    }
    return false;
  }

  value(): unknown {
    this.space();
    const c = this.s[this.i];
    if (c === '[') {
      this.i++;
      return this.items(']');
    }
    if (c === '(') {
      this.i++;
      return this.items(')');
    }
    if (c === '{') {
      this.i++;
      return this.dict();
    }
    if (c === '-' || c === '+') {
      this.i++;
      const n = this.value();
      if (typeof n !== 'number') {
        this.fail();
      }
      return c === '-' ? -n : n;
    }
    const rest = this.s.slice(this.i);
    if (/^[rRuU]?['"]/.test(rest)) {
      let text = '';
      // adjacent string literals are one string, as in Python
      let m: RegExpExecArray | null;
      while ((m = /^([rRuU]?)['"]/.exec(this.s.slice(this.i)))) {
        this.i += m[1].length;
        text += this.string(m[1].toLowerCase() === 'r');
        this.space();
      }
      return text;
    }
    const name = /^[A-Za-z_]\w*/.exec(rest);
    if (name) {
      if (!Object.prototype.hasOwnProperty.call(NAMES, name[0])) {
        this.fail();
      }
      this.i += name[0].length;
      return NAMES[name[0]];
    }
    const num = NUMBER.exec(rest);
    if (num && num[0] !== '.') {
      this.i += num[0].length;
      const digits = num[0].replace(/_/g, '');
      const value = /^0[oObB]/.test(digits)
        ? parseInt(digits.slice(2), digits[1].toLowerCase() === 'o' ? 8 : 2)
        : Number(digits);
      if (Number.isNaN(value)) {
        this.fail();
      }
      return value;
    }
    return this.fail();
  }

  /** The items of a list or tuple up to ``close`` (a trailing comma allowed). */
  private items(close: string): unknown[] {
    const out: unknown[] = [];
    while (!this.eat(close)) {
      out.push(this.value());
      if (!this.eat(',')) {
        if (!this.eat(close)) {
          this.fail();
        }
        break;
      }
    }
    return out;
  }

  private dict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (!this.eat('}')) {
      const key = this.value();
      if (!this.eat(':')) {
        this.fail();
      }
      out[String(key)] = this.value();
      if (!this.eat(',')) {
        if (!this.eat('}')) {
          this.fail();
        }
        break;
      }
    }
    return out;
  }

  /** A quoted string at ``i`` (its quote, or three of them), raw or with Python's escapes. */
  private string(raw: boolean): string {
    const q = this.s[this.i];
    const triple = this.s.startsWith(q.repeat(3), this.i);
    const end = triple ? q.repeat(3) : q;
    this.i += end.length;
    let out = '';
    while (this.i < this.s.length) {
      if (this.s.startsWith(end, this.i)) {
        this.i += end.length;
        return out;
      }
      const c = this.s[this.i];
      if (c === '\n' && !triple) {
        break;
      }
      if (c === '\\' && this.i + 1 < this.s.length) {
        const next = this.s[this.i + 1];
        if (raw) {
          out += c + next;
          this.i += 2;
          continue;
        }
        if (Object.prototype.hasOwnProperty.call(SIMPLE_ESCAPES, next)) {
          out += SIMPLE_ESCAPES[next];
          this.i += 2;
          continue;
        }
        const hex = /^(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))/.exec(
          this.s.slice(this.i + 1)
        );
        if (hex) {
          out += String.fromCodePoint(parseInt(hex[1] ?? hex[2] ?? hex[3], 16));
          this.i += 1 + hex[0].length;
          continue;
        }
        out += c; // an unknown escape keeps its backslash, as Python does
        this.i++;
        continue;
      }
      out += c;
      this.i++;
    }
    return this.fail();
  }
}
