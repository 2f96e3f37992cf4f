package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.testbed.BedStatus;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.WithTestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cells on node1 of the netns test bed, seen from the bed's client host. */
@WithTestBed
class CellsIT {

    private static final Duration T = Duration.ofSeconds(20);
    private static final String PYTHON = "/usr/bin/python3";

    /** Connects from the client and prints "connected: <what the server sent>", "refused" or "timeout". */
    private static final String CONNECT = String.join("\n",
            "import socket, sys",
            "s = socket.socket()",
            "s.settimeout(float(sys.argv[3]))",
            "try:",
            "    s.connect((sys.argv[1], int(sys.argv[2])))",
            "    print('connected:', s.recv(100).decode())",
            "except ConnectionRefusedError:",
            "    print('refused')",
            "except socket.timeout:",
            "    print('timeout')");

    /** Listens on the given port and sends its hostname to one client. */
    private static final String HELLO_SERVER = String.join("\n",
            "import socket, sys",
            "s = socket.socket()",
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
            "s.bind(('', int(sys.argv[1])))",
            "s.listen()",
            "print('listening', flush=True)",
            "c, _ = s.accept()",
            "c.sendall(('hello from ' + socket.gethostname()).encode())",
            "c.close()");

    private TestBed bed;
    private Cells cells;
    private BedStatus.Host node;
    private ServiceLauncher launcher;
    private final List<Cells> toClean = new ArrayList<>();
    private final List<String> services = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeEach
    void setUp(TestBed testBed) {
        bed = testBed;
        node = bed.status().host(bed.nodes().get(0));
        cells = new Cells(node.name(), node.netns());
        launcher = new ServiceLauncher(bed.checkout().resolve("native/build/svcmove-launch"));
        toClean.add(cells);
    }

    @AfterEach
    void tearDown() {
        for (Cells c : toClean) {
            for (String s : services) {
                c.destroy(s);
            }
        }
    }

    private Vip vip() {
        return Vip.parse(bed.nextVip() + "/" + bed.prefixLength());
    }

    private Cell create(Cells on, String service, Vip vip, boolean up) {
        services.add(service);
        String nodeName = on.node();
        return on.create(new CellSpec(service, nodeName, Vips.of(vip), node.iface()), up);
    }

    private String connect(Vip vip, int port, double timeoutSeconds) {
        ExecResult r = bed.exec(bed.client(), T, PYTHON, "-c", CONNECT, vip.addressText(), Integer.toString(port),
                Double.toString(timeoutSeconds)).requireOk();
        return r.stdout().strip();
    }

    /** Waits (bounded) until the file holds {@code text}. */
    private static String awaitLog(Path log, String text) throws Exception {
        String content = "";
        for (int i = 0; i < 100; i++) {
            content = Files.exists(log) ? Files.readString(log) : "";
            if (content.contains(text)) {
                return content;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("'" + text + "' never appeared in " + log + "; it holds: " + content);
    }

    @Test
    void cellAnswersPingAndTcpAtItsVipWithItsOwnMacAndHostname() throws Exception {
        Vip vip = vip();
        Cell cell = create(cells, "it-web", vip, true);
        assertEquals(node.name() + ".it-web", cell.netnsName());
        assertTrue(cell.isLinkUp());
        assertEquals(cell.netnsName(), cells.find("it-web").orElseThrow().netnsName());
        assertEquals(vip, cells.find("it-web").orElseThrow().vips().primary());
        assertTrue(cells.list().stream().anyMatch(c -> c.service().equals("it-web")));

        bed.exec(bed.client(), T, "ping", "-c", "1", "-W", "2", vip.addressText()).requireOk();
        String neigh = bed.exec(bed.client(), T, "ip", "neigh", "show", vip.addressText()).requireOk().stdout();
        assertTrue(neigh.contains(vip.mac()), "client's ARP entry for the VIP: " + neigh);

        Path log = tmp.resolve("web.log");
        long pid = launcher.start(cell, List.of(PYTHON, "-c", HELLO_SERVER, "7000"), Map.of(), tmp, log);
        awaitLog(log, "listening");
        assertTrue(cell.pids().contains(pid), "the service runs in the cell's netns");
        assertEquals("connected: hello from it-web", connect(vip, 7000, 5));
    }

    @Test
    void clientSeesTheVipAsPeerOfAConnectionTheServiceOpens() throws Exception {
        Vip vip = vip();
        Cell cell = create(cells, "it-out", vip, true);
        String clientAddr = bed.address(bed.client());
        // The service retries for a while so that it may start before the client listens.
        String dial = String.join("\n",
                "import socket, time",
                "for _ in range(100):",
                "    try:",
                "        socket.create_connection(('" + clientAddr + "', 7001), timeout=1).close()",
                "        break",
                "    except OSError:",
                "        time.sleep(0.1)");
        launcher.start(cell, List.of(PYTHON, "-c", dial), Map.of(), tmp, tmp.resolve("out.log"));
        String listen = String.join("\n",
                "import socket",
                "s = socket.socket()",
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
                "s.settimeout(10)",
                "s.bind(('', 7001))",
                "s.listen()",
                "c, a = s.accept()",
                "print(a[0])");
        String peer = bed.exec(bed.client(), T, PYTHON, "-c", listen).requireOk().stdout().strip();
        assertEquals(vip.addressText(), peer);
    }

    @Test
    void destroyLeavesNoNetnsLinkOrProcess() throws Exception {
        Vip vip = vip();
        Cell cell = create(cells, "it-gone", vip, true);
        long inode = cell.netnsInode();
        // A shell that handles SIGTERM (a namespace's PID 1 ignores signals it has no handler for).
        long pid = launcher.start(cell, List.of("sh", "-c", "trap 'exit 0' TERM; echo up; while :; do sleep 1; done"),
                Map.of(), tmp, tmp.resolve("gone.log"));
        awaitLog(tmp.resolve("gone.log"), "up");
        assertTrue(launcher.alive(pid));

        assertTrue(cells.destroy("it-gone"));
        assertFalse(Files.exists(cell.netnsPath()), "netns file removed");
        assertFalse(bed.execOutside(T, "ip", "netns", "list").requireOk().stdout().contains(cell.netnsName()));
        assertFalse(launcher.alive(pid), "service stopped");
        assertTrue(Netns.pidsIn(inode).isEmpty(), "no process left in the cell's netns");
        String links = bed.exec(node.name(), T, "ip", "-o", "link", "show").requireOk().stdout();
        assertFalse(links.contains(vip.mac()), "no macvlan left on the node: " + links);
        bed.exec(bed.client(), T, "ping", "-c", "1", "-W", "1", vip.addressText());
        assertFalse(bed.exec(bed.client(), T, "ping", "-c", "1", "-W", "1", vip.addressText()).ok(), "VIP gone");
        assertFalse(cells.destroy("it-gone"), "destroying twice is a no-op");
        assertTrue(cells.find("it-gone").isEmpty());
    }

    @Test
    void destroyKillsAServiceThatIgnoresSigterm() {
        Cell cell = create(cells, "it-stubborn", vip(), false);
        long pid = launcher.start(cell, List.of("sleep", "600"), Map.of(), tmp, tmp.resolve("stubborn.log"));
        assertTrue(cells.destroy("it-stubborn"));
        assertFalse(launcher.alive(pid));
        assertFalse(Files.exists(cell.netnsPath()));
    }

    private void assertNothingLeft(String service, String linksBefore) {
        assertFalse(Files.exists(Netns.pathOf(node.name() + "." + service)), "no netns left for " + service);
        assertEquals(linksBefore, nodeLinks(), "the node's interfaces are unchanged");
    }

    private String nodeLinks() {
        return bed.exec(node.name(), T, "ip", "-br", "link", "show").requireOk().stdout();
    }

    @Test
    void unknownParentInterfaceIsNamedWithTheNodesInterfaces() {
        String before = nodeLinks();
        CellException e = assertThrows(CellException.class,
                () -> cells.create(new CellSpec("it-bad", node.name(), Vips.of(vip()), "nosuch0"), true));
        assertTrue(e.getMessage().contains("parent interface nosuch0 not found on node " + node.name()), e.getMessage());
        assertTrue(e.getMessage().contains(node.iface()), "lists the node's interfaces: " + e.getMessage());
        assertNothingLeft("it-bad", before);
    }

    @Test
    void vipOutsideTheSubnetNamesTheSubnet() {
        String before = nodeLinks();
        CellException e = assertThrows(CellException.class,
                () -> cells.create(new CellSpec("it-bad", node.name(), Vips.of(Vip.parse("198.19.0.100/24")), node.iface()), true));
        assertTrue(e.getMessage().contains("outside the subnet of " + node.iface()), e.getMessage());
        assertTrue(e.getMessage().contains(bed.status().subnet()), "names " + bed.status().subnet() + ": " + e.getMessage());
        assertNothingLeft("it-bad", before);
    }

    @Test
    void vipInUseOnTheLanSaysWhoAnswered() {
        String before = nodeLinks();
        Vip clientAddress = Vip.parse(bed.address(bed.client()) + "/" + bed.prefixLength());
        String clientMac = bed.exec(bed.client(), T, "cat", "/sys/class/net/eth0/address").requireOk().stdout().strip();
        CellException e = assertThrows(CellException.class,
                () -> cells.create(new CellSpec("it-bad", node.name(), Vips.of(clientAddress), node.iface()), true));
        assertTrue(e.getMessage().contains("already in use on the LAN"), e.getMessage());
        assertTrue(e.getMessage().contains(clientMac), "names the client's MAC " + clientMac + ": " + e.getMessage());
        assertNothingLeft("it-bad", before);
    }

    @Test
    void vipHeldByACellOnAnotherNodeIsInUse() {
        BedStatus.Host node2 = bed.status().host(bed.nodes().get(1));
        Cells other = new Cells(node2.name(), node2.netns());
        toClean.add(other);
        Vip vip = vip();
        create(other, "it-twin", vip, true);
        String before = nodeLinks();
        CellException e = assertThrows(CellException.class,
                () -> cells.create(new CellSpec("it-twin", node.name(), Vips.of(vip), node.iface()), true));
        assertTrue(e.getMessage().contains("svcmove's own MAC"), e.getMessage());
        assertNothingLeft("it-twin", before);
    }

    @Test
    void moveDestinationCellIsHeldWhileTheSourceAnswers() {
        BedStatus.Host node2 = bed.status().host(bed.nodes().get(1));
        Cells source = new Cells(node2.name(), node2.netns());
        toClean.add(source);
        Vip vip = vip();
        create(source, "it-move", vip, true);
        Cell dest = cells.createHeld(new CellSpec("it-move", node.name(), Vips.of(vip), node.iface()));
        assertTrue(dest.isLinkUp(), "up, so that restored TCP sockets find their routes");
        assertTrue(dest.isHeld());
        assertEquals(vip, cells.find("it-move").orElseThrow().vips().primary());
        // The held twin sends no ARP answer, so the client's ARP entry and the switch stay with the source.
        bed.exec(bed.client(), T, "ip", "neigh", "flush", "dev", "eth0").requireOk();
        bed.exec(bed.client(), T, "ping", "-c", "3", "-W", "2", vip.addressText()).requireOk();
    }

    @Test
    void vipOfAnotherCellOnThisNodeIsInUse() {
        Vip vip = vip();
        create(cells, "it-first", vip, true);
        CellException e = assertThrows(CellException.class,
                () -> cells.create(new CellSpec("it-second", node.name(), Vips.of(vip), node.iface()), true));
        assertTrue(e.getMessage().contains("already used by cell " + node.name() + ".it-first"), e.getMessage());
        assertFalse(Files.exists(Netns.pathOf(node.name() + ".it-second")));
    }

    @Test
    void holdDropsSoConnectsTimeOutInsteadOfBeingRefused() {
        Vip vip = vip();
        Cell cell = create(cells, "it-hold", vip, true);
        // Nothing listens on 7002: without the hold the cell answers with a RST.
        assertEquals("refused", connect(vip, 7002, 3));
        cell.hold();
        cell.hold();
        assertTrue(cell.isHeld());
        String table = bed.execOutside(T, "nsenter", "--net=" + cell.netnsPath(), "nft", "list", "table", "netdev", Cell.HOLD_TABLE)
                .requireOk().stdout();
        assertEquals(2, table.split("drop", -1).length - 1, "holding twice leaves one rule each way: " + table);
        assertEquals("timeout", connect(vip, 7002, 2));
        cell.release();
        cell.release();
        assertFalse(cell.isHeld());
        assertEquals("refused", connect(vip, 7002, 3));
    }

    @Test
    void cellCreatedDownIsSilentUntilLinkUp() {
        Vip vip = vip();
        Cell cell = create(cells, "it-down", vip, false);
        assertFalse(cell.isLinkUp());
        assertFalse(bed.exec(bed.client(), T, "ping", "-c", "1", "-W", "1", vip.addressText()).ok());
        cell.linkUp();
        bed.exec(bed.client(), T, "ping", "-c", "1", "-W", "2", vip.addressText()).requireOk();
        cell.linkDown();
        assertFalse(cell.isLinkUp());
    }

    @Test
    void gatewaySurvivesLinkDownAndFind() {
        Vip vip = vip();
        String gw = bed.address(bed.client());
        services.add("it-gw");
        Cell cell = cells.create(new CellSpec("it-gw", node.name(), Vips.of(vip), node.iface(), CellSpec.gateway(gw)), false);
        Cell found = cells.find("it-gw").orElseThrow();
        assertEquals(gw, found.gateway().orElseThrow().getHostAddress());
        found.linkUp();
        String routes = bed.execOutside(T, "ip", "-n", cell.netnsName(), "route", "show", "default").requireOk().stdout();
        assertTrue(routes.contains("default via " + gw), routes);
    }

    @Test
    void launcherStartsPid1WithLogAndEnvAndStops() throws Exception {
        Cell cell = create(cells, "it-run", vip(), true);
        Path log = tmp.resolve("run.log");
        long pid = launcher.start(cell,
                List.of("sh", "-c", "trap 'exit 0' TERM; echo pid=$$ host=$(hostname) foo=$FOO; echo oops >&2; while :; do sleep 1; done"),
                Map.of("FOO", "bar"), tmp, log);
        String out = awaitLog(log, "oops");
        assertTrue(out.contains("pid=1 host=it-run foo=bar"), out);
        assertTrue(launcher.alive(pid));
        assertTrue(Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/1")).toString().startsWith("pipe:"),
                "stdout is a pipe, not the log file");
        launcher.stop(pid, Duration.ofSeconds(5));
        assertFalse(launcher.alive(pid));
    }

    @Test
    void relayForARestoredServiceAppendsWhatWritersSendAndEndsWithThem() throws Exception {
        Cell cell = create(cells, "it-relay", vip(), false);
        long pid = launcher.start(cell, List.of("sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"), Map.of(), tmp,
                tmp.resolve("src.log"));
        String stdout = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "fd", "1")).toString();
        assertTrue(stdout.matches("pipe:\\[\\d+\\]"), "stdout of the service: " + stdout);

        Path log = tmp.resolve("relay.log");
        ServiceLauncher.Relay relay = launcher.startRelay(log, Duration.ofSeconds(1));
        try (var out = Files.newOutputStream(relay.pipe(), java.nio.file.StandardOpenOption.WRITE)) {
            out.write("restored\n".getBytes());
            out.flush();
            awaitLog(log, "restored");
            Thread.sleep(1500);
            assertTrue(launcher.alive(relay.pid()), "a writer is still attached after the window");
        }
        for (int i = 0; i < 100 && launcher.alive(relay.pid()); i++) {
            Thread.sleep(20);
        }
        assertFalse(launcher.alive(relay.pid()), "the relay ends with its last writer");
    }

    @Test
    void launcherReportsCommandNotFound() throws Exception {
        Path notExecutable = Files.writeString(tmp.resolve("data.txt"), "not a program\n");
        Cell cell = create(cells, "it-nocmd", vip(), false);
        CellException e = assertThrows(CellException.class,
                () -> launcher.start(cell, List.of("no-such-command-xyz"), Map.of(), tmp, tmp.resolve("nocmd.log")));
        assertTrue(e.getMessage().contains("command not found: no-such-command-xyz"), e.getMessage());
        CellException notExec = assertThrows(CellException.class,
                () -> launcher.start(cell, List.of(notExecutable.toString()), Map.of(), tmp, tmp.resolve("nocmd.log")));
        assertTrue(notExec.getMessage().contains("command not executable: " + notExecutable), notExec.getMessage());
        assertTrue(cell.pids().isEmpty(), "nothing runs in the cell");
    }
}
