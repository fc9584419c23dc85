import { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import { User } from '../domain/users/user.entity.js'

export const entities = [PracticeGroup, User]
