import { ApplicationFailure } from '@temporalio/workflow';

/**
 * A workflow that fails in workflow code (not in an activity) with business data in its message —
 * for the codec test: such failures are converted inside the workflow sandbox, by the failure
 * converter compiled into the bundle, never by the worker's dataConverter.
 */
export async function failInWorkflowCode(customer: string): Promise<never> {
  throw ApplicationFailure.create({ type: 'COSELL_TEST', message: `registration refused: ${customer} is already registered by another partner`, nonRetryable: true });
}
