import { Migration20261125000100Foundation } from '../../migrations/Migration20261125000100_foundation.js'
import { Migration20261125000200PracticeRecordsAndAudit } from '../../migrations/Migration20261125000200_practice_records_and_audit.js'
import { Migration20261125000300HistorySortIndexes } from '../../migrations/Migration20261125000300_history_sort_indexes.js'
import { Migration20261125000350HistoryIdSortIndex } from '../../migrations/Migration20261125000350_history_id_sort_index.js'
import { Migration20261125000400SubscriptionsAndCredits } from '../../migrations/Migration20261125000400_subscriptions_and_credits.js'
import { Migration20261125000500HistoryDescendingSortIndexes } from '../../migrations/Migration20261125000500_history_descending_sort_indexes.js'
import { Migration20261125000600AddOnSafeguards } from '../../migrations/Migration20261125000600_add_on_safeguards.js'
import { Migration20261125000700HistoryTextSearchIndexes } from '../../migrations/Migration20261125000700_history_text_search_indexes.js'
import { Migration20261125000800HistoryTextSortIndexes } from '../../migrations/Migration20261125000800_history_text_sort_indexes.js'
import { Migration20261125000900HistoryChain } from '../../migrations/Migration20261125000900_history_chain.js'
import { Migration20261125001000ChainRecordTimes } from '../../migrations/Migration20261125001000_chain_record_times.js'
import { Migration20261126000100SignedInChanges } from '../../migrations/Migration20261126000100_signed_in_changes.js'
import { Migration20261202000100LeastPrivilege } from '../../migrations/Migration20261202000100_least_privilege.js'
import { Migration20261202000500TopUps } from '../../migrations/Migration20261202000500_top_ups.js'
import { Migration20261202000600TopUpScope } from '../../migrations/Migration20261202000600_top_up_scope.js'
import { Migration20261208000100PlanTerms } from '../../migrations/Migration20261208000100_plan_terms.js'
import { Migration20261209000100RecordPatientAndOutcome } from '../../migrations/Migration20261209000100_record_patient_and_outcome.js'
import { Migration20261210000100RestrictedPatients } from '../../migrations/Migration20261210000100_restricted_patients.js'
import { Migration20261210000200AlertsAndReviews } from '../../migrations/Migration20261210000200_alerts_and_reviews.js'
import { Migration20261211000100UserDateOfBirth } from '../../migrations/Migration20261211000100_user_date_of_birth.js'
import { Migration20261212000100SignedHeads } from '../../migrations/Migration20261212000100_signed_heads.js'
import { Migration20261212000200Integrations } from '../../migrations/Migration20261212000200_integrations.js'

/** Listed explicitly so the same build runs migrations from source (tsx) and from dist. */
export const migrationsList = [
  { name: 'Migration20261125000100_foundation', class: Migration20261125000100Foundation },
  { name: 'Migration20261125000200_practice_records_and_audit', class: Migration20261125000200PracticeRecordsAndAudit },
  { name: 'Migration20261125000300_history_sort_indexes', class: Migration20261125000300HistorySortIndexes },
  { name: 'Migration20261125000350_history_id_sort_index', class: Migration20261125000350HistoryIdSortIndex },
  { name: 'Migration20261125000400_subscriptions_and_credits', class: Migration20261125000400SubscriptionsAndCredits },
  { name: 'Migration20261125000500_history_descending_sort_indexes', class: Migration20261125000500HistoryDescendingSortIndexes },
  { name: 'Migration20261125000600_add_on_safeguards', class: Migration20261125000600AddOnSafeguards },
  { name: 'Migration20261125000700_history_text_search_indexes', class: Migration20261125000700HistoryTextSearchIndexes },
  { name: 'Migration20261125000800_history_text_sort_indexes', class: Migration20261125000800HistoryTextSortIndexes },
  { name: 'Migration20261125000900_history_chain', class: Migration20261125000900HistoryChain },
  { name: 'Migration20261125001000_chain_record_times', class: Migration20261125001000ChainRecordTimes },
  { name: 'Migration20261126000100_signed_in_changes', class: Migration20261126000100SignedInChanges },
  { name: 'Migration20261202000100_least_privilege', class: Migration20261202000100LeastPrivilege },
  { name: 'Migration20261202000500_top_ups', class: Migration20261202000500TopUps },
  { name: 'Migration20261202000600_top_up_scope', class: Migration20261202000600TopUpScope },
  { name: 'Migration20261208000100_plan_terms', class: Migration20261208000100PlanTerms },
  { name: 'Migration20261209000100_record_patient_and_outcome', class: Migration20261209000100RecordPatientAndOutcome },
  { name: 'Migration20261210000100_restricted_patients', class: Migration20261210000100RestrictedPatients },
  { name: 'Migration20261210000200_alerts_and_reviews', class: Migration20261210000200AlertsAndReviews },
  { name: 'Migration20261211000100_user_date_of_birth', class: Migration20261211000100UserDateOfBirth },
  { name: 'Migration20261212000100_signed_heads', class: Migration20261212000100SignedHeads },
  { name: 'Migration20261212000200_integrations', class: Migration20261212000200Integrations }
]
