package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: on real servers each node has its own disk. A service with a data file open that only
 * the source has is refused in prepare, before the freeze (exit 3), the message naming the file and
 * the node that lacks it, and nothing changes; once the destination has the same file, it moves.
 * The same for another build of its program there. Skipped on the netns bed, whose nodes share one
 * filesystem.
 */
@WithTestBed
class VmNodeFilesIT {
    private static final Duration LONG = Duration.ofSeconds(120);
    private static final String DATA = "/var/lib/itnodefiles/data.bin";
    private static final String PROGRAM = "/usr/local/lib/itbuild/sleep";

    @Test
    void aFileOnlyTheSourceHasRefusesTheMoveUntilTheDestinationHasItToo(TestBed bed) {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String name = "itnodefiles";
        String make = "mkdir -p ${0%/*} && head -c 4096 /dev/zero > $0";
        try {
            bed.exec(n1, LONG, "sh", "-c", make, DATA).requireOk();
            Services.run(bed, n1, name, bed.nextVip(), "python3", "-c", "import time\nf = open('" + DATA + "', 'rb')\ntime.sleep(3600)");
            ExecResult refused = bed.svcmove(n1, name, n2);
            assertEquals(3, refused.exitCode(), "refused before the freeze:\n" + refused.describe());
            assertTrue(refused.stderr().contains(DATA + " is open by " + name + " on " + n1 + " but " + n2 + " lacks it"),
                    "the message names the file and the node that lacks it:\n" + refused.describe());
            assertFalse(Pattern.compile("Exception|io\\.svcmove").matcher(refused.stderr()).find(), refused.describe());
            assertEquals(Map.of(n1, "running"), Services.whereIs(bed, name), "nothing changed");

            bed.exec(n2, LONG, "sh", "-c", make, DATA).requireOk();
            assertEquals(n2, Services.move(bed, n1, name, n2).path("to").asText(), "with the same file there it moves");
        } finally {
            Services.stopEverywhere(bed, name);
            for (String n : List.of(n1, n2)) {
                bed.exec(n, LONG, "rm", "-rf", "/var/lib/itnodefiles");
            }
        }
    }

    /**
     * The service's program is another build on the destination: same path, same size, another ELF
     * build-id (one byte of its note changed), which CRIU would refuse at restore. The move is
     * refused in prepare (exit 3) naming the file and both build-ids; with the same build there, it moves.
     */
    @Test
    void anotherBuildOfTheServicesProgramOnTheDestinationRefusesTheMove(TestBed bed) {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String name = "itbuild";
        String copy = "mkdir -p ${0%/*} && cp /usr/bin/sleep $0";
        // The build-id note: namesz 4, descsz 20, type 3 (NT_GNU_BUILD_ID), "GNU\0", then the id itself.
        String rebuild = "import struct, sys\np = sys.argv[1]\nb = bytearray(open(p, 'rb').read())\n"
                + "i = b.index(struct.pack('<III', 4, 20, 3) + b'GNU\\0') + 16\nb[i] ^= 0xff\nopen(p, 'wb').write(b)";
        try {
            for (String n : List.of(n1, n2)) {
                bed.exec(n, LONG, "sh", "-c", copy, PROGRAM).requireOk();
            }
            bed.exec(n2, LONG, "python3", "-c", rebuild, PROGRAM).requireOk();
            Services.run(bed, n1, name, bed.nextVip(), PROGRAM, "3600");
            ExecResult refused = bed.svcmove(n1, name, n2);
            assertEquals(3, refused.exitCode(), "refused before the freeze:\n" + refused.describe());
            assertTrue(Pattern.compile(Pattern.quote(PROGRAM) + " is another build: build-id [0-9a-f]{40} on " + n1 + ", [0-9a-f]{40} on "
                    + n2).matcher(refused.stderr()).find(), "the message names the file and both builds:\n" + refused.describe());
            assertEquals(Map.of(n1, "running"), Services.whereIs(bed, name), "nothing changed");

            bed.exec(n2, LONG, "sh", "-c", copy, PROGRAM).requireOk();
            assertEquals(n2, Services.move(bed, n1, name, n2).path("to").asText(), "with the same build there it moves");
        } finally {
            Services.stopEverywhere(bed, name);
            for (String n : List.of(n1, n2)) {
                bed.exec(n, LONG, "rm", "-rf", PROGRAM.substring(0, PROGRAM.lastIndexOf('/')));
            }
        }
    }
}
