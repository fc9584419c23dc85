import type { EntityManager } from '@mikro-orm/postgresql'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'
import type { PracticeGroup } from '../../src/domain/practice-groups/practice-group.entity.js'
import type { User } from '../../src/domain/users/user.entity.js'

export interface Clinic {
  group: PracticeGroup
  owner: User
  practitioner: User
  practitionerWithoutHistory: User
  reception: User
}

/** A practice with one user of each kind that matters, every name and email unique to this call. */
export async function makeClinic (em: EntityManager, values: { creditBalance?: number } = {}): Promise<Clinic> {
  const group = await makePracticeGroup(em, { name: unique('Clinic'), creditBalance: values.creditBalance ?? 0 })
  return {
    group,
    owner: await makeUser(em, group, { name: unique('Owner'), accessLevel: 'Full Access', canViewHistory: true }),
    practitioner: await makeUser(em, group, { name: unique('Practitioner'), accessLevel: 'Practitioner', canViewHistory: true }),
    practitionerWithoutHistory: await makeUser(em, group, { name: unique('Locum'), accessLevel: 'Practitioner' }),
    reception: await makeUser(em, group, { name: unique('Reception'), accessLevel: 'Reception' })
  }
}
