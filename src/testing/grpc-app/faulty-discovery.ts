/**
 * `isthmus discovery` with the test-only fault of faulty-generators.ts (EDS of a labelled service
 * corrupted for proxyless gRPC clients), run as a process by integration tests with the same flags:
 *
 *   node src/testing/grpc-app/faulty-discovery.ts --kubeconfig ... --cluster-id cluster1 --grpcAddr ...
 */
import { discoveryCommand } from '../../bootstrap/command.ts';
import { defaultGenerators } from '../../bootstrap/generators.ts';
import { faultyGenerators } from './faulty-generators.ts';

await discoveryCommand(faultyGenerators(defaultGenerators())).parseAsync(process.argv.slice(2), { from: 'user' });
