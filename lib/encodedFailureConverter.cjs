// Loaded by path by the Temporal worker (dataConverter.failureConverterPath) when payload encryption is
// on: failure messages and stack traces go into an encoded payload, which the payload codec encrypts.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
