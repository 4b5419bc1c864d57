// A gateway outliving its network namespaces: closing it after the
// interfaces' namespace was removed (a lab torn down first, an operator's
// mistake) detaches nothing and must not bring the process down. Needs root.
import { expect, it } from 'vitest';
import { labDown, labGatewayConfig, labUp } from '../../src/lab/topology.js';
import { silentLogger } from '../../src/log/logger.js';
import { GatewayService } from '../../src/service/gateway-service.js';

it('closes cleanly after its ports namespace is gone', async () => {
  const prefix = 'nfvgw-t-life';
  const lab = await labUp({ prefix, queues: 1 });
  const svc = GatewayService.start(labGatewayConfig(lab), silentLogger());
  await labDown(prefix);
  expect(() => svc.close()).not.toThrow();
  expect(svc.dataplane.closed).toBe(true);
});
