package io.svcmove.dns;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.TSIG;

/**
 * Whatever a DNS server answers: the updater's calls (register, remove, check, the zone transfer)
 * end with a result or a DnsException with a message, never another exception, and within their
 * timeout. The answers come from a server on loopback made here: raw bytes (with the query's ID),
 * or a message parsed from the bytes and signed with our key, so the fuzzer gets past TSIG.
 */
class DnsAnswerFuzzTest {
    private static final byte[] SECRET = "svcmove-fuzz-secret-0123456789ab".getBytes();
    private static final Duration TIMEOUT = Duration.ofMillis(500);
    private static final FakeServer SERVER = new FakeServer();
    private static final DnsUpdater UPDATER;
    private static final List<InetAddress> DUAL_STACK;

    static {
        try {
            Path key = Files.createTempFile("svcmove-fuzz-", ".key");
            key.toFile().deleteOnExit();
            Files.writeString(key, "key \"svcmove-key\" {\n\talgorithm hmac-sha256;\n\tsecret \""
                    + Base64.getEncoder().encodeToString(SECRET) + "\";\n};\n");
            DUAL_STACK = List.of(InetAddress.getByName("198.18.0.100"), InetAddress.getByName("fd53:7e57:0:1::100"));
            UPDATER = new DnsUpdater(new DnsConfig("127.0.0.1:" + SERVER.port(), "svcmove.test.", key, null, null, 60, TIMEOUT));
        } catch (IOException | DnsException e) {
            throw new IllegalStateException(e);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void answer(FuzzedDataProvider data) throws Exception {
        // The only connections are to the fake server on loopback (Jazzer reports any other as SSRF).
        BugDetectors.allowNetworkConnections((host, port) -> port == SERVER.port());
        int op = data.consumeInt(0, 3);
        SERVER.signed = data.consumeBoolean();
        SERVER.answer = data.consumeRemainingAsBytes();
        long start = System.nanoTime();
        try {
            switch (op) {
                case 0 -> UPDATER.register("web", DUAL_STACK, "web");
                case 1 -> UPDATER.remove("web", "web");
                case 2 -> UPDATER.check();
                default -> assertNotNull(UPDATER.owned());
            }
        } catch (DnsException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), e::toString);
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        // Two exchanges at most (register, remove), each bounded by the timeout (plus dnsjava's slack).
        assertTrue(ms < 2 * TIMEOUT.toMillis() + 2500, "took " + ms + " ms");
    }

    /** Answers each TCP query with the bytes of the current input, then closes the connection. */
    static final class FakeServer implements Runnable {
        private final ServerSocket socket;
        private final TSIG tsig = new TSIG(TSIG.HMAC_SHA256, "svcmove-key.", Base64.getEncoder().encodeToString(SECRET));
        volatile byte[] answer = new byte[0];
        volatile boolean signed;

        FakeServer() {
            try {
                socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Thread t = new Thread(this, "fake-dns");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void run() {
            while (true) {
                try (Socket s = socket.accept()) {
                    s.setSoTimeout(2000);
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    DataOutputStream out = new DataOutputStream(s.getOutputStream());
                    byte[] q = new byte[in.readUnsignedShort()];
                    in.readFully(q);
                    Message query = new Message(q);
                    byte[] a = reply(query);
                    out.writeShort(a.length);
                    out.write(a);
                    out.flush();
                } catch (IOException | RuntimeException e) {
                    // the next connection gets the next answer
                }
            }
        }

        private byte[] reply(Message query) {
            byte[] raw = answer.clone();
            if (signed) {
                Message m;
                try {
                    m = new Message(raw);
                } catch (IOException e) {
                    m = new Message();
                    m.getHeader().setRcode(raw.length > 0 ? raw[0] & 0xf : Rcode.NOERROR);
                }
                m.getHeader().setID(query.getHeader().getID());
                m.getHeader().setFlag(Flags.QR);
                m.setTSIG(tsig, Rcode.NOERROR, query.getTSIG());
                return m.toWire(65535);
            }
            if (raw.length >= 2) {
                raw[0] = (byte) (query.getHeader().getID() >> 8);
                raw[1] = (byte) query.getHeader().getID();
            }
            return raw;
        }
    }
}
