package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CriuOptionsTest {
    private static final Path DIR = Path.of("/dev/shm/img");

    @Test
    void dumpOptionsMapToCriuOpts() {
        CriuRpc.CriuOpts o = DumpOptions.builder(DIR, 4242, NetworkLock.SKIP)
                .tcpEstablished(true)
                .leaveStopped(true)
                .externalNetns(4026532008L, "cell")
                .external("mnt[/data]:data")
                .build()
                .toRpc(17, 18, null);
        assertEquals(17, o.getImagesDirFd());
        assertEquals(18, o.getWorkDirFd());
        assertEquals(4242, o.getPid());
        assertEquals(CriuRpc.NetworkLockMethod.SKIP, o.getNetworkLock());
        assertTrue(o.getTcpEstablished());
        assertTrue(o.getLeaveStopped());
        assertFalse(o.getLeaveRunning());
        assertFalse(o.getShellJob());
        assertEquals(List.of("net[4026532008]:cell", "mnt[/data]:data"), o.getExternalList());
        assertEquals(4, o.getLogLevel());
        assertEquals("dump.log", o.getLogFile());
        assertTrue(o.getNotifyScripts(), "without notify_scripts CRIU sends no NOTIFY and phases cannot hook in");
        assertEquals(0, o.getInheritFdCount());
        assertFalse(o.getLazyPages());
        assertFalse(o.hasPs());
    }

    @Test
    void aLazyDumpServesItsPagesOverTlsOnTheConfiguredAddress() {
        DumpOptions d = DumpOptions.builder(DIR, 4242, NetworkLock.SKIP).leaveStopped(true)
                .lazyPages("198.18.0.11", 27001, new PageServerTls(Path.of("/p/ca.crt"), Path.of("/p/n1.crt"), Path.of("/p/n1.key")))
                .build();
        CriuRpc.CriuOpts o = d.toRpc(17, 18, DIR.resolve("lazy-pages.conf"));
        assertTrue(d.lazy());
        assertTrue(o.getLazyPages());
        assertEquals(27001, o.getPs().getPort());
        assertEquals("address 198.18.0.11\n", d.lazyConfig(), "CRIU takes a lazy page server's address only from a config file");
        assertEquals(DIR.resolve("lazy-pages.conf").toString(), o.getConfigFile());
        assertTrue(o.getTls());
        assertEquals("/p/ca.crt", o.getTlsCacert());
        assertEquals("/p/n1.crt", o.getTlsCert());
        assertEquals("/p/n1.key", o.getTlsKey());
    }

    @Test
    void aStreamedDumpSendsItsPagesToTheDestinationsPageServerAndChecksItsName() {
        DumpOptions d = DumpOptions.builder(DIR, 4242, NetworkLock.SKIP).leaveStopped(true)
                .streamPages("198.18.0.12", 40123, new PageServerTls(Path.of("/p/ca.crt"), Path.of("/p/stream.crt"), Path.of("/p/n1.key")))
                .build();
        CriuRpc.CriuOpts o = d.toRpc(17, 18, DIR.resolve("lazy-pages.conf"));
        assertTrue(d.streamed());
        assertFalse(d.lazy());
        assertFalse(o.getLazyPages());
        assertEquals("198.18.0.12", o.getPs().getAddress());
        assertEquals(40123, o.getPs().getPort());
        assertFalse(o.hasConfigFile());
        assertTrue(o.getTls());
        assertEquals("/p/stream.crt", o.getTlsCert());
        assertFalse(o.getTlsNoCnVerify(), "the client checks the page server's certificate against the address it dials");
    }

    @Test
    void aPreCopyRoundTracksMemoryAndNamesThePreviousRoundAsItsParent() {
        CriuRpc.CriuOpts first = DumpOptions.builder(DIR, 4242, NetworkLock.SKIP).trackMem(true).build().toRpc(17, 18, null);
        assertTrue(first.getTrackMem());
        assertFalse(first.hasParentImg(), "the first round has no parent");
        CriuRpc.CriuOpts next = DumpOptions.builder(DIR, 4242, NetworkLock.SKIP).trackMem(true).parent("../pre-1").build()
                .toRpc(17, 18, null);
        assertEquals("../pre-1", next.getParentImg());
        assertFalse(DumpOptions.builder(DIR, 4242, NetworkLock.SKIP).build().toRpc(17, 18, null).getTrackMem());
        assertThrows(IllegalArgumentException.class, () -> DumpOptions.builder(DIR, 4242, NetworkLock.SKIP).parent("../pre-1").build(),
                "a parent without tracking would dump every page again");
        assertThrows(IllegalArgumentException.class, () -> DumpOptions.builder(DIR, 4242, NetworkLock.SKIP).parent("/dev/shm/pre-1"));
    }

    @Test
    void theWorkDirIsTheImagesDirUnlessSetApart() {
        Path work = Path.of("/dev/shm/svcmove-x");
        assertEquals(DIR, DumpOptions.builder(DIR, 7, NetworkLock.SKIP).build().workDir());
        assertEquals(work, DumpOptions.builder(DIR, 7, NetworkLock.SKIP).workDir(work).build().workDir());
        assertEquals(DIR, RestoreOptions.builder(DIR, NetworkLock.SKIP).build().workDir());
        assertEquals(work, RestoreOptions.builder(DIR, NetworkLock.SKIP).workDir(work).build().workDir());
    }

    @Test
    void dumpOptionsSurviveTheWire() throws Exception {
        CriuRpc.CriuReq req = CriuRpc.CriuReq.newBuilder().setType(CriuRpc.ReqType.DUMP)
                .setOpts(DumpOptions.builder(DIR, 7, NetworkLock.NFTABLES).leaveRunning(true).shellJob(true).build().toRpc(3, 3, null))
                .build();
        CriuRpc.CriuOpts o = CriuRpc.CriuReq.parseFrom(req.toByteArray()).getOpts();
        assertEquals(CriuRpc.NetworkLockMethod.NFTABLES, o.getNetworkLock());
        assertTrue(o.getLeaveRunning());
        assertTrue(o.getShellJob());
    }

    /** Field numbers are the contract with CRIU: spot-check the ones a typo would silently break. */
    @Test
    void fieldNumbersMatchCriusRpcProto() {
        var f = CriuRpc.CriuOpts.getDescriptor();
        assertEquals(1, f.findFieldByName("images_dir_fd").getNumber());
        assertEquals(17, f.findFieldByName("work_dir_fd").getNumber());
        assertEquals(5, f.findFieldByName("tcp_established").getNumber());
        assertEquals(12, f.findFieldByName("notify_scripts").getNumber());
        assertEquals(27, f.findFieldByName("inherit_fd").getNumber());
        assertEquals(37, f.findFieldByName("external").getNumber());
        assertEquals(64, f.findFieldByName("network_lock").getNumber());
        assertEquals(69, f.findFieldByName("leave_stopped").getNumber());
        assertEquals(11, f.findFieldByName("ps").getNumber());
        assertEquals(48, f.findFieldByName("lazy_pages").getNumber());
        assertEquals(51, f.findFieldByName("config_file").getNumber());
        assertEquals(58, f.findFieldByName("tls").getNumber());
        assertEquals(9, CriuRpc.ReqType.FEATURE_CHECK.getNumber());
        assertEquals(3, CriuRpc.NetworkLockMethod.SKIP.getNumber());
        assertEquals(6, CriuRpc.ReqType.NOTIFY.getNumber());
        assertEquals(10, CriuRpc.ReqType.VERSION.getNumber());
        assertEquals(3, CriuRpc.CriuReq.getDescriptor().findFieldByName("notify_success").getNumber());
    }

    @Test
    void restoreOptionsMapInheritFdsToChildFdNumbers() {
        RestoreOptions r = RestoreOptions.builder(DIR, NetworkLock.SKIP)
                .tcpEstablished(true)
                .inheritFd("cell", 57)
                .inheritFd("extra", 58)
                .build();
        assertEquals(Map.of("cell", 57, "extra", 58), r.inheritFds());
        CriuRpc.CriuOpts o = r.toRpc(9, 9, Map.of("cell", 4));
        assertEquals(9, o.getImagesDirFd());
        assertFalse(o.hasPid(), "restore takes no pid");
        assertTrue(o.getTcpEstablished());
        assertEquals("restore.log", o.getLogFile());
        assertEquals(1, o.getInheritFdCount());
        assertEquals("cell", o.getInheritFd(0).getKey());
        assertEquals(4, o.getInheritFd(0).getFd(), "CRIU gets the fd number in its own table, not ours");
        assertFalse(o.getLeaveStopped());
    }

    @Test
    void contradictoryOrBrokenOptionsAreRefused() {
        var both = DumpOptions.builder(DIR, 7, NetworkLock.SKIP).leaveStopped(true).leaveRunning(true);
        assertTrue(assertThrows(IllegalArgumentException.class, both::build).getMessage().contains("leaveStopped"));
        assertThrows(IllegalArgumentException.class, () -> DumpOptions.builder(DIR, 1, NetworkLock.SKIP));
        assertThrows(NullPointerException.class, () -> DumpOptions.builder(DIR, 7, null));
        assertThrows(IllegalArgumentException.class, () -> DumpOptions.builder(DIR, 7, NetworkLock.SKIP).logFile("a/b"));
        assertThrows(IllegalArgumentException.class, () -> DumpOptions.builder(DIR, 7, NetworkLock.SKIP).logLevel(5));
        var twice = RestoreOptions.builder(DIR, NetworkLock.SKIP).inheritFd("k", 5);
        assertThrows(IllegalArgumentException.class, () -> twice.inheritFd("k", 6));
        assertThrows(IllegalArgumentException.class, () -> twice.timeout(java.time.Duration.ZERO));
    }

    @Test
    void phasesUseCriusWords() {
        assertEquals(CriuPhase.POST_SETUP_NAMESPACES, CriuPhase.of("post-setup-namespaces").orElseThrow());
        assertEquals("network-lock", CriuPhase.NETWORK_LOCK.toString());
        assertTrue(new CriuNotification("status-ready", 0).phase().isEmpty());
    }
}
