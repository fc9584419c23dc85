import { seededRandom } from '../../src/seed/everyday-use.js'

const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i))

/** Pieces of text that have broken URL handling somewhere, by the class of code point or trick they carry. */
export const HOSTILE_PIECES = {
  c0: range(0x00, 0x1f),
  del: ['\u007f'],
  c1: range(0x80, 0x9f),
  lineSeparators: ['\u2028', '\u2029'],
  loneSurrogates: ['\ud800', '\udbff', '\udc00', '\udfff'],
  aboveLatin1: ['\u0100', '\u4e2d', '\ufeff', '\uffff'],
  astral: ['\u{1f600}', '\u{10ffff}', '\u{1d11e}'],
  backslash: ['\\', '/\\', '\\\\'],
  doubleSlash: ['//', '///', '/./', '/../'],
  slashTabSlash: ['/\t/', '/\\\t\\', '/\n/', '/\r\n/'],
  percentEncoded: ['%0A', '%0D%0A', '%09', '%00', '%2F%2F', '%5C', '%2F', '%E2%80%A8', '%ED%A0%80', '%C0%AF', '%', '%ZZ', '%%32%65'],
  elsewhere: ['evil.example', 'http://evil.example', 'https:evil.example', 'javascript:alert(1)', '@evil.example', 'data:text/html,x', ':80'],
  ordinary: ['patients', '/patients', '?page=2', '#top', '.', '..', 'é']
} as const

export type HostileClass = keyof typeof HOSTILE_PIECES

export interface HostileStrings {
  seed: number
  /** One string per class first, then random mixtures of pieces from every class. */
  values: string[]
}

/**
 * Hostile strings from a fixed seed, so a failure can be replayed: set
 * HOSTILE_SEED to the seed a failing assertion names.
 */
export function hostileStrings (count: number, seed = Number(process.env.HOSTILE_SEED ?? 20261202)): HostileStrings {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const classes = Object.keys(HOSTILE_PIECES) as HostileClass[]
  const values = classes.map(name => `/${pick(HOSTILE_PIECES[name])}${pick(['', '/'])}evil.example`)
  while (values.length < count) {
    const pieces = Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(HOSTILE_PIECES[pick(classes)]))
    values.push((random() < 0.7 ? '/' : '') + pieces.join(''))
  }
  return { seed, values }
}

/** Quoted with every code unit outside printable ASCII escaped, so no input can break a line of the test report. */
export function quoted (text: string): string {
  return `"${text.replace(/[^ !#-[\]-~]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`
}
