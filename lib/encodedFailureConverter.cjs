// Loaded by path by the Temporal worker and clients (dataConverter.failureConverterPath) when payload encryption is
// on: failure messages and stack traces go into an encoded payload, which the payload codec encrypts.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS on purpose: the SDK require()s this file
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
