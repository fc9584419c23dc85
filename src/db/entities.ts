import { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import { User } from '../domain/users/user.entity.js'
import { Patient } from '../domain/patients/patient.entity.js'
import { Appointment } from '../domain/appointments/appointment.entity.js'
import { Invoice } from '../domain/invoices/invoice.entity.js'
import { Subscription } from '../domain/subscriptions/subscription.entity.js'
import { CreditEntry } from '../domain/credits/credit-entry.entity.js'

export const entities = [PracticeGroup, User, Patient, Appointment, Invoice, Subscription, CreditEntry]
