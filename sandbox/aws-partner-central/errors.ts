/**
 * The service's error shapes, as Partner Central answers them over awsJson1_0: the HTTP status of the
 * error's Smithy `@httpError` trait, an `x-amzn-ErrorType` header and a JSON body with `__type` and
 * the error's members (`Message`, `Reason`, `ErrorList`). The unmodified SDK turns them into its
 * exception classes (ValidationException, ConflictException, …) from `__type`.
 */
const NAMESPACE = 'com.amazonaws.partnercentralselling';

export type AceErrorName =
  | 'ValidationException'
  | 'ConflictException'
  | 'ThrottlingException'
  | 'AccessDeniedException'
  | 'ResourceNotFoundException'
  | 'InternalServerException'
  | 'ServiceQuotaExceededException'
  // Authentication errors come from the AWS front door, not the service model (no namespace).
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException'
  | 'MissingAuthenticationTokenException'
  | 'UnknownOperationException'
  | 'SerializationException';

const STATUS: Record<AceErrorName, number> = {
  ValidationException: 400,
  ConflictException: 409,
  ThrottlingException: 429,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  InternalServerException: 500,
  ServiceQuotaExceededException: 402,
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
  MissingAuthenticationTokenException: 403,
  UnknownOperationException: 400,
  SerializationException: 400,
};

const MODELLED = new Set<AceErrorName>(['ValidationException', 'ConflictException', 'ThrottlingException', 'AccessDeniedException', 'ResourceNotFoundException', 'InternalServerException', 'ServiceQuotaExceededException']);

export interface FieldError {
  FieldName?: string;
  Message: string;
  Code: 'ACTION_NOT_PERMITTED' | 'DUPLICATE_KEY_VALUE' | 'INVALID_ENUM_VALUE' | 'INVALID_RESOURCE_STATE' | 'INVALID_STRING_FORMAT' | 'INVALID_VALUE' | 'NOT_ENOUGH_VALUES' | 'REQUIRED_FIELD_MISSING' | 'TOO_MANY_VALUES' | 'VALUE_OUT_OF_RANGE';
}

export class AceError extends Error {
  constructor(
    readonly errorName: AceErrorName,
    message: string,
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get status(): number {
    return STATUS[this.errorName];
  }

  body(): Record<string, unknown> {
    const type = MODELLED.has(this.errorName) ? `${NAMESPACE}#${this.errorName}` : this.errorName;
    return { __type: type, Message: this.message, ...this.members };
  }
}

export function validationError(errors: FieldError[], reason: 'REQUEST_VALIDATION_FAILED' | 'BUSINESS_VALIDATION_FAILED' = 'REQUEST_VALIDATION_FAILED'): AceError {
  const first = errors[0];
  const message = errors.length === 1 && first ? `${first.FieldName ? `${first.FieldName}: ` : ''}${first.Message}` : `${errors.length} fields failed validation`;
  return new AceError('ValidationException', message, { Reason: reason, ErrorList: errors });
}
