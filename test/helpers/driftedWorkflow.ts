import { sleep } from '@temporalio/workflow';

/**
 * cosell's first workflow as a later edit might leave it: a timer where the real one
 * (workflows/hello.ts) runs an activity — a history it records does not replay on the real bundle.
 */
export async function helloCosell(name: string): Promise<string> {
  await sleep(1);
  return `Hello ${name}`;
}
