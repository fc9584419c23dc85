import { Migration20261125000100Foundation } from '../../migrations/Migration20261125000100_foundation.js'
import { Migration20261125000200PracticeRecordsAndAudit } from '../../migrations/Migration20261125000200_practice_records_and_audit.js'

/** Listed explicitly so the same build runs migrations from source (tsx) and from dist. */
export const migrationsList = [
  { name: 'Migration20261125000100_foundation', class: Migration20261125000100Foundation },
  { name: 'Migration20261125000200_practice_records_and_audit', class: Migration20261125000200PracticeRecordsAndAudit }
]
