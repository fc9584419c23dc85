/** Errors that carry the status and message a user should see. */
export class UserFacingError extends Error {
  constructor (readonly statusCode: number, message: string) {
    super(message)
  }
}

/** The practice record a refusal concerns, for the record of the refused attempt. */
export interface Concerning {
  recordType: string
  /** Null for a record that was to be created. */
  recordId: number | null
  patientId: number | null
}

/**
 * A refusal that is recorded as a denied attempt: the user tried something
 * their access does not allow, or a record that is not theirs to see.
 */
export class RefusalError extends UserFacingError {
  concerning: Concerning | null = null

  about (concerning: Concerning): this {
    this.concerning = concerning
    return this
  }
}

export class NotFoundError extends RefusalError {
  constructor (what = 'page') {
    super(404, `That ${what} does not exist, or it is not in your practice.`)
  }
}

export class ForbiddenError extends RefusalError {
  constructor (message = 'Your access level does not allow this.') {
    super(403, message)
  }
}

export type FieldErrors = Record<string, string>

/** A form that failed validation; the form is shown again with each message beside its field. */
export class ValidationError extends UserFacingError {
  constructor (readonly fields: FieldErrors, message = 'Please correct the highlighted fields.') {
    super(422, message)
  }
}
