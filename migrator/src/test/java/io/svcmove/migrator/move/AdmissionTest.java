package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.service.Draining;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The destination's checks of prepare (and of `svcmove check`), one by one, on this machine's own /proc. */
class AdmissionTest {
    private static final Criu WORKING = (Criu) Proxy.newProxyInstance(Criu.class.getClassLoader(), new Class<?>[] {Criu.class},
            (proxy, method, args) -> {
                throw new AssertionError("the checks do not call CRIU: " + method);
            });
    private static final ServiceFiles NO_FILES = new ServiceFiles(null, null, null);

    @TempDir
    Path state;

    private Admission admission(Criu criu) {
        return new Admission(new AgentConfig("n2", null, null, state.toString(), null, null, null, null, null, null, null, null),
                registry(), criu, "4.2.1");
    }

    private ServiceRegistry registry() {
        try {
            return new ServiceRegistry(state);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static ServiceRecord service(String name, String vip) {
        return new ServiceRecord(name, "n1", vip, "02:5c:c6:12:00:64", "eth0", null, List.of("sleep", "600"), Map.of(), "/", 4242, 0,
                "n1." + name, 0, null, null, null, null, null, null);
    }

    private static List<String> refused(List<Preflight> checks) {
        List<String> out = new ArrayList<>();
        checks.stream().filter(c -> c.result() == Preflight.Result.REFUSE).forEach(c -> out.add(c.name()));
        return out;
    }

    @Test
    void everyCheckPassesForAServiceThisNodeCanTake() {
        List<Preflight> checks = admission(WORKING).checks("n1", service("web", "198.18.0.100/24"), "4.2.1", NO_FILES,
                new NodeResources.Needs(List.of(), 1024));
        assertEquals(List.of(), refused(checks), checks.toString());
        assertEquals(List.of("criu", "criu-version", "name", "draining", "vip", "files", "cpu", "memory"),
                checks.stream().map(Preflight::name).toList(), "each check, in the order a move reports the first refusal");
    }

    @Test
    void eachReasonRefusesAloneWithItsReasonAndFix() throws Exception {
        ServiceRecord web = service("web", "198.18.0.100/24");
        assertEquals(List.of("criu"), refused(admission(null).checks("n1", web, "4.2.1", NO_FILES, null)), "no CRIU here");
        assertEquals(List.of("criu-version"), refused(admission(WORKING).checks("n1", web, "4.1", NO_FILES, null)));

        new Draining(state).set(true);
        List<Preflight> draining = admission(WORKING).checks("n1", web, "4.2.1", NO_FILES, null);
        assertEquals(List.of("draining"), refused(draining));
        assertEquals("n2 is draining: it takes no services until 'svcmove undrain n2'", Preflight.firstRefusal(draining).get().message());
        new Draining(state).set(false);

        registry().save(service("db", "198.18.0.100/24"));
        assertEquals(List.of("vip"), refused(admission(WORKING).checks("n1", web, "4.2.1", NO_FILES, null)), "the VIP is db's here");
        registry().save(service("web", "198.18.0.101/24"));
        assertEquals(List.of("name", "vip"), refused(admission(WORKING).checks("n1", web, "4.2.1", NO_FILES, null)));

        List<Preflight> memory = admission(WORKING).checks("n1", service("big", "198.18.0.102/24"), "4.2.1", NO_FILES,
                new NodeResources.Needs(List.of(), Long.MAX_VALUE / 4));
        assertEquals(List.of("memory"), refused(memory), "more memory than any machine has");
        List<Preflight> cpu = admission(WORKING).checks("n1", service("fast", "198.18.0.103/24"), "4.2.1", NO_FILES,
                new NodeResources.Needs(List.of("no_such_cpu_flag"), 0));
        assertEquals(List.of("cpu"), refused(cpu));
        assertTrue(Preflight.firstRefusal(cpu).get().reason().contains("lacks no_such_cpu_flag"), cpu.toString());
    }
}
