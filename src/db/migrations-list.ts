import { Migration20261125000100Foundation } from '../../migrations/Migration20261125000100_foundation.js'

/** Listed explicitly so the same build runs migrations from source (tsx) and from dist. */
export const migrationsList = [
  { name: 'Migration20261125000100_foundation', class: Migration20261125000100Foundation }
]
