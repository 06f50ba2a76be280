/**
 * Controls for MLOPS-2.1 (MLV_CONTROLS=1 only): the DDP workload broken on purpose
 * (`--control`), each of which must fail exactly the criterion that targets it. The
 * integration tests assert which criteria fail and that the matrix shows the FAIL.
 */
import { needs, test } from '../../fixtures/index.ts';

const CONTROLS = [
  { control: 'no-sync', what: 'gradients never all-reduced' },
  { control: 'silent-rank', what: 'one rank does not report' },
  { control: 'uneven-steps', what: 'unequal step counts' },
] as const;

test.describe('MLOPS-2.1 DDP controls', () => {
  test.describe.configure({ mode: 'default' });
  needs({ sides: ['hpc'], gpusPerNode: 2, claims: ['gres-gpu', 'multi-gpu'] }, () => {
    for (const { control, what } of CONTROLS) {
      test(`DDP control ${control}: ${what}`, async ({ training, criteria }) => {
        const r = await training.ddp(`control-ddp-${control}`, { control }).run();
        await criteria.dataParallel(r, 2);
      });
    }
  });
});
