package io.svcmove.migrator.ocf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.WithTestBed;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 8: the OCF resource agent (migrator/ocf/svcmove) on the test bed's nodes, run as Pacemaker
 * runs it: actions as arguments, parameters as OCF_RESKEY_* variables, answers as OCF exit codes.
 */
@WithTestBed
class OcfAgentIT {
    private static final int SUCCESS = 0;
    private static final int ERR_GENERIC = 1;
    private static final int ERR_ARGS = 2;
    private static final int ERR_UNIMPLEMENTED = 3;
    private static final int ERR_INSTALLED = 5;
    private static final int ERR_CONFIGURED = 6;
    private static final int NOT_RUNNING = 7;

    @Test
    void ocfTesterPasses(TestBed bed) throws Exception {
        String node = bed.nodes().get(0);
        try (WebService web = new WebService(bed, bed.nextVip(), 0)) {
            ExecResult r = bed.exec(node, Duration.ofMinutes(3), "ocf-tester", "-n", "ocftest", "-o", "vip=" + cidr(bed, web.vip),
                    "-o", "command=" + web.command(), "-o", "binary=" + svcmove(bed), agent(bed));
            assertEquals(0, r.exitCode(), "ocf-tester on the agent:\n" + r.describe());
            assertTrue(r.stdout().contains("passed all tests"), r.describe());
            assertEquals(NOT_RUNNING, ra(bed, node, "monitor", params(bed, "ocftest", web)).exitCode(), "ocf-tester stopped it");
        }
    }

    /** Pacemaker's live move with allow-migrate=true: migrate_to on the source, migrate_from on the target. */
    @Test
    void migrateToAndFromMoveTheServiceWithItsDownload(TestBed bed) throws Exception {
        String source = bed.nodes().get(0);
        String target = bed.nodes().get(1);
        try (WebService web = new WebService(bed, bed.nextVip(), 60)) {
            Map<String, String> p = params(bed, "ocfmove", web);
            try {
                expect(bed, source, "start", p, SUCCESS, "");
                assertEquals("200", web.httpCode(), "the service answers after start");
                web.startDownload();

                p.put("CRM_meta_migrate_target", "nosuchnode");
                expect(bed, source, "migrate_to", p, ERR_GENERIC, "does not know node nosuchnode");
                expect(bed, source, "monitor", p, SUCCESS, "");

                p.put("CRM_meta_migrate_source", source);
                p.put("CRM_meta_migrate_target", target);
                expect(bed, source, "migrate_to", p, SUCCESS, "");
                expect(bed, target, "migrate_from", p, SUCCESS, "");
                expect(bed, source, "monitor", p, NOT_RUNNING, "");
                expect(bed, target, "monitor", p, SUCCESS, "");
                assertTrue(web.downloading(), "the client's download continues through the move");
                web.assertDownloadCompletes(Duration.ofSeconds(90));

                expect(bed, target, "stop", p, SUCCESS, "");
                expect(bed, target, "monitor", p, NOT_RUNNING, "");
            } finally {
                bed.nodes().forEach(n -> ra(bed, n, "stop", p));
            }
        }
    }

    @Test
    void badInputGetsAClearReasonAndTheRightCode(TestBed bed) throws Exception {
        String node = bed.nodes().get(0);
        try (WebService web = new WebService(bed, bed.nextVip(), 0)) {
            Map<String, String> p = params(bed, "ocfnosuch", web);
            expect(bed, node, "migrate_to", p, ERR_ARGS, "migrate_to needs the target node in CRM_meta_migrate_target");
            expect(bed, node, "monitor", p, NOT_RUNNING, "");
            expect(bed, node, "stop", p, SUCCESS, "");
            p.put("CRM_meta_migrate_target", bed.nodes().get(1));
            expect(bed, node, "migrate_to", p, ERR_GENERIC, "ocfnosuch does not run on this node");
            expect(bed, bed.nodes().get(1), "migrate_from", p, ERR_GENERIC, "ocfnosuch did not arrive on this node");
            expect(bed, node, "promote", p, ERR_UNIMPLEMENTED, "");

            Map<String, String> noVip = new LinkedHashMap<>(p);
            noVip.remove("vip");
            expect(bed, node, "validate-all", noVip, ERR_CONFIGURED, "parameter vip is missing");
            Map<String, String> badVip = new LinkedHashMap<>(p);
            badVip.put("vip", "198.18.0.300");
            expect(bed, node, "validate-all", badVip, ERR_CONFIGURED, "is not ADDRESS/PREFIX");
            Map<String, String> noCommand = new LinkedHashMap<>(p);
            noCommand.remove("command");
            expect(bed, node, "start", noCommand, ERR_CONFIGURED, "parameter command is missing");
            Map<String, String> noDefinition = new LinkedHashMap<>(p);
            noDefinition.put("definition", "/nonexistent/web.conf");
            expect(bed, node, "start", noDefinition, ERR_INSTALLED, "definition file /nonexistent/web.conf is missing");

            Map<String, String> notInstalled = new LinkedHashMap<>(p);
            notInstalled.put("binary", "/nonexistent/svcmove");
            expect(bed, node, "validate-all", notInstalled, ERR_INSTALLED, "is not installed on this node");
            notInstalled.put("CRM_meta_interval", "0");
            expect(bed, node, "monitor", notInstalled, NOT_RUNNING, ""); // a probe: not installed here means not running here
        }
    }

    private static void expect(TestBed bed, String node, String action, Map<String, String> params, int code, String reason) {
        ExecResult r = ra(bed, node, action, params);
        assertEquals(code, r.exitCode(), action + " on " + node + ":\n" + r.describe());
        assertTrue(r.stderr().contains(reason), "the reason " + action + " gives on " + node + " names '" + reason + "':\n" + r.describe());
    }

    /** Runs ACTION of the agent on NODE with PARAMS as OCF_RESKEY_* (as Pacemaker's executor does). */
    private static ExecResult ra(TestBed bed, String node, String action, Map<String, String> params) {
        List<String> cmd = new ArrayList<>(List.of("env", "OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=" + params.get("name")));
        params.forEach((k, v) -> cmd.add("OCF_RESKEY_" + k + "=" + v));
        cmd.add(agent(bed));
        cmd.add(action);
        return bed.exec(node, Duration.ofMinutes(2), cmd.toArray(String[]::new));
    }

    private static Map<String, String> params(TestBed bed, String name, WebService web) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("name", name);
        p.put("vip", cidr(bed, web.vip));
        p.put("command", web.command());
        p.put("binary", svcmove(bed));
        return p;
    }

    private static String agent(TestBed bed) {
        return bed.checkout().resolve("migrator/ocf/svcmove").toString();
    }

    private static String svcmove(TestBed bed) {
        return bed.checkout().resolve("bin/svcmove").toString();
    }

    private static String cidr(TestBed bed, String vip) {
        return vip + "/" + bed.prefixLength();
    }
}
