/**
 * Salesforce error shapes. Top-level errors are a JSON array `[{message, errorCode, fields?}]`;
 * per-record errors inside collection results use `statusCode` instead of `errorCode`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
  }

  body(): Array<{ message: string; errorCode: string; fields?: string[] }> {
    return [{ message: this.message, errorCode: this.errorCode, ...(this.fields ? { fields: this.fields } : {}) }];
  }
}

export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** A per-record failure raised while validating or applying one record of a write. */
export class RecordFailure extends Error {
  constructor(readonly errors: RecordError[]) {
    super(errors.map((e) => `${e.statusCode}: ${e.message}`).join('; '));
  }
  static of(statusCode: string, message: string, fields: string[] = []): RecordFailure {
    return new RecordFailure([{ statusCode, message, fields }]);
  }
}

export const notFound = () => new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
export const invalidType = (_name: string) => new ApiError(404, 'NOT_FOUND', `The requested resource does not exist`);
