import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/** The repository root, whether running from src/ (tsx) or dist/src/ (compiled). */
export const projectRoot = here.endsWith(join('dist', 'src')) ? resolve(here, '../..') : resolve(here, '..')
