package io.svcmove.migrator.ocf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.WithTestBed;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Issue 8: Corosync and Pacemaker on the bed's nodes (test-vm/pacemaker), the service a Pacemaker
 * resource of the OCF agent with allow-migrate=true. `crm_resource --move` makes Pacemaker call
 * migrate_to on the source and migrate_from on the target, and the client's download continues.
 */
@WithTestBed
class PacemakerIT {
    private static final String RESOURCE = "pcmkweb";

    @Test
    void pacemakersMoveOfTheResourceIsLive(TestBed bed) throws Exception {
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        List<String> up = new ArrayList<>(List.of(script(bed), "up", "--prefix", bed.prefix()));
        bed.nodes().forEach(n -> up.add(n + "=" + bed.address(n)));
        try (WebService web = new WebService(bed, bed.nextVip(), 100)) {
            ExecResult started = bed.execOutside(Duration.ofMinutes(2), up.toArray(String[]::new));
            assertEquals(0, started.exitCode(), "Corosync and Pacemaker on the bed's nodes:\n" + started.describe());
            try {
                pcmk(bed, n1, "cibadmin", "--create", "--scope", "resources", "--xml-text", "<primitive id='" + RESOURCE
                        + "' class='ocf' provider='svcmove' type='svcmove'><instance_attributes id='" + RESOURCE + "-ia'>"
                        + nvpair("vip", web.vip + "/" + bed.prefixLength()) + nvpair("command", web.command())
                        + nvpair("binary", bed.checkout().resolve("bin/svcmove").toString()) + "</instance_attributes>"
                        + "<meta_attributes id='" + RESOURCE + "-meta'>" + nvpair("allow-migrate", "true") + "</meta_attributes>"
                        + "<operations><op id='" + RESOURCE + "-mon' name='monitor' interval='10s' timeout='30s'/>"
                        + "<op id='" + RESOURCE + "-mig' name='migrate_to' interval='0' timeout='300s'/></operations></primitive>");
                pcmk(bed, n1, "cibadmin", "--create", "--scope", "constraints", "--xml-text",
                        "<rsc_location id='" + RESOURCE + "-first' rsc='" + RESOURCE + "' node='" + n1 + "' score='100'/>");
                await(Duration.ofSeconds(60), "Pacemaker started " + RESOURCE + " on " + n1,
                        () -> runsOn(bed, n1) && "200".equals(web.httpCode()));

                web.startDownload();
                pcmk(bed, n1, "crm_resource", "--move", "-r", RESOURCE, "-N", n2);
                await(Duration.ofSeconds(90), "Pacemaker moved " + RESOURCE + " to " + n2, () -> runsOn(bed, n2) && !runsOn(bed, n1)
                        && pcmk(bed, n1, "crm_mon", "-1").stdout().contains("Started " + n2));
                assertTrue(web.downloading(), "the client's download continues after Pacemaker's move");
                String ops = pcmk(bed, n1, "crm_mon", "-1", "--include=all").stdout();
                assertTrue(ops.contains("migrate_from") || ops.contains("migrate_to"), "Pacemaker migrated (not stop/start):\n" + ops);
                web.assertDownloadCompletes(Duration.ofSeconds(90));
                String status = pcmk(bed, n1, "crm_mon", "-1").stdout();
                assertTrue(!status.contains("Failed Resource Actions"), "no failed actions:\n" + status);
            } finally {
                pcmk(bed, n1, "crm_resource", "--resource", RESOURCE, "--set-parameter", "target-role", "--meta",
                        "--parameter-value", "Stopped");
                await(Duration.ofSeconds(60), "Pacemaker stopped " + RESOURCE, () -> !runsOn(bed, n1) && !runsOn(bed, n2));
                bed.execOutside(Duration.ofMinutes(2), script(bed), "down", "--prefix", bed.prefix());
            }
        }
    }

    private static boolean runsOn(TestBed bed, String node) {
        return bed.svcmove(node, "status", RESOURCE).exitCode() == 0;
    }

    private static ExecResult pcmk(TestBed bed, String node, String... cmd) {
        List<String> all = new ArrayList<>(List.of(script(bed), "exec", "--prefix", bed.prefix(), node));
        all.addAll(List.of(cmd));
        return bed.execOutside(Duration.ofSeconds(30), all.toArray(String[]::new));
    }

    private static String nvpair(String name, String value) {
        return "<nvpair id='" + RESOURCE + "-" + name + "' name='" + name + "' value='" + value + "'/>";
    }

    private static String script(TestBed bed) {
        return bed.checkout().resolve("test-vm/pacemaker").toString();
    }

    private static void await(Duration timeout, String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeout.toSeconds() + " s waiting until " + what);
            }
            Thread.sleep(500);
        }
    }
}
