import { beforeAll, it } from 'vitest';
import fc from 'fast-check';
import { initBackend } from '../src/backend.js';
import { caseArb, modelSpecArb, lockstepGradients, numericGradient, dropoutMasks, describe as describeCase, layoutMatches } from './helpers/models.js';

beforeAll(async () => { await initBackend(); });

it('stats', () => {
  const samples = fc.sample(caseArb(modelSpecArb()), { seed: 1, numRuns: 1000 });
  let rej = 0, bad = 0;
  const rels: number[] = []; const abss: number[] = [];
  const t0 = performance.now();
  for (const c of samples) {
    const masks = dropoutMasks(c.spec, c);
    const { grad, net } = lockstepGradients(c);
    if (!layoutMatches(net, c.spec)) throw new Error('layout');
    const n = numericGradient(c, masks);
    if (n.blocked) { rej++; if (rej<40) console.log('REJ', n.blocked, describeCase(c)); continue; }
    let gmax = 0; for (const v of n.grad) gmax = Math.max(gmax, Math.abs(v));
    let worstA = 0, worstR = 0;
    for (let i = 0; i < grad.length; i++) {
      const e = Math.abs(grad[i] - n.grad[i]);
      worstA = Math.max(worstA, e / Math.max(gmax, 1e-30));
      worstR = Math.max(worstR, e / Math.max(Math.abs(n.grad[i]), 1e-30));
    }
    abss.push(worstA);
    if (worstA > 5e-5) { bad++; console.log(describeCase(c), worstA, gmax); }
  }
  abss.sort((a,b)=>a-b);
  console.log('ms', performance.now()-t0, 'rej', rej, 'bad', bad, 'abs quantiles', abss[Math.floor(abss.length*0.5)], abss[Math.floor(abss.length*0.99)], abss[abss.length-1]);
});
