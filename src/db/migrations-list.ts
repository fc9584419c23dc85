import { Migration20261125000100Foundation } from '../../migrations/Migration20261125000100_foundation.js'
import { Migration20261125000200PracticeRecordsAndAudit } from '../../migrations/Migration20261125000200_practice_records_and_audit.js'
import { Migration20261125000300HistorySortIndexes } from '../../migrations/Migration20261125000300_history_sort_indexes.js'

/** Listed explicitly so the same build runs migrations from source (tsx) and from dist. */
export const migrationsList = [
  { name: 'Migration20261125000100_foundation', class: Migration20261125000100Foundation },
  { name: 'Migration20261125000200_practice_records_and_audit', class: Migration20261125000200PracticeRecordsAndAudit },
  { name: 'Migration20261125000300_history_sort_indexes', class: Migration20261125000300HistorySortIndexes }
]
