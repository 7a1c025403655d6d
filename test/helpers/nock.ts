import nock from 'nock';

// nock 15's interceptors call Promise.withResolvers, which Node 20 lacks (added in Node 22): every
// test that intercepts HTTP imports nock from here.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= () => {
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

export default nock;
