/** Errors that carry the status and message a user should see. */
export class UserFacingError extends Error {
  constructor (readonly statusCode: number, message: string) {
    super(message)
  }
}

export class NotFoundError extends UserFacingError {
  constructor (what = 'page') {
    super(404, `That ${what} does not exist, or it is not in your practice.`)
  }
}

export class ForbiddenError extends UserFacingError {
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
