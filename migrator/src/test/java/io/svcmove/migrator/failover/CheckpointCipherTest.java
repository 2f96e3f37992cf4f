package io.svcmove.migrator.failover;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.NodeIdentity;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.Set;
import javax.crypto.SecretKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CheckpointCipherTest {
    private static final int CHUNK = CheckpointCipher.CHUNK;
    /** magic 6, version 1, chunk size 4, salt 16 */
    private static final int HEADER = 27;
    private static final int SEALED_CHUNK = CHUNK + 16;
    private static final byte[] CONTEXT = CheckpointCipher.context("web", "node1", 1700000000000L, "ckpt-web-1234");

    private final SecretKey key = CheckpointCipher.newDataKey();

    @ParameterizedTest
    @ValueSource(ints = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5})
    void aFileComesBackAsItWas(int size) throws IOException {
        byte[] plain = data(size);
        byte[] sealed = encrypt("pages-1.img", plain);
        // One chunk per full CHUNK plus a shorter last one (empty when the size is a multiple), each with its tag.
        assertEquals(HEADER + size + 16L * (size / CHUNK + 1), sealed.length);
        assertArrayEquals(plain, decrypt("pages-1.img", sealed));
    }

    @Test
    void theCiphertextShowsNothingOfThePlaintext() throws IOException {
        byte[] marker = "SVCMOVE-MARKER-0123456789".getBytes(StandardCharsets.US_ASCII);
        byte[] plain = new byte[3 * CHUNK];
        for (int i = 0; i + marker.length <= plain.length; i += marker.length) {
            System.arraycopy(marker, 0, plain, i, marker.length);
        }
        String sealed = new String(encrypt("pages-1.img", plain), StandardCharsets.ISO_8859_1);
        assertFalse(sealed.contains("SVCMOVE-MARKER"));
        assertFalse(Arrays.equals(encrypt("pages-1.img", plain), encrypt("pages-1.img", plain)), "a new salt per file");
    }

    /** Every part of a file: magic, version, chunk size, salt, a first, middle and last chunk's body and tag. */
    @ParameterizedTest
    @ValueSource(ints = {0, 5, 6, 7, 10, 11, 26, HEADER, HEADER + CHUNK - 1, HEADER + CHUNK, HEADER + SEALED_CHUNK - 1,
            HEADER + SEALED_CHUNK, HEADER + 2 * SEALED_CHUNK - 1, HEADER + 2 * SEALED_CHUNK, HEADER + 2 * SEALED_CHUNK + 100})
    void aFlippedBitAnywhereIsCaught(int offset) throws IOException {
        byte[] sealed = encrypt("core-1.img", data(2 * CHUNK + 100));
        assertTrue(offset < sealed.length);
        sealed[offset] ^= 0x01;
        assertThrows(CheckpointCipher.NotAuthentic.class, () -> decrypt("core-1.img", sealed));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 3, HEADER, HEADER + 15, HEADER + SEALED_CHUNK, HEADER + SEALED_CHUNK + 1, HEADER + 2 * SEALED_CHUNK,
            HEADER + 2 * SEALED_CHUNK + 50})
    void aCutFileIsCaught(int length) throws IOException {
        byte[] sealed = encrypt("mm-1.img", data(2 * CHUNK + 100));
        assertTrue(length < sealed.length);
        CheckpointCipher.NotAuthentic e = assertThrows(CheckpointCipher.NotAuthentic.class,
                () -> decrypt("mm-1.img", Arrays.copyOf(sealed, length)));
        assertFalse(e.getMessage().isBlank());
    }

    @Test
    void aFileCutAtAChunkBoundarySaysItLacksItsLastChunk() throws IOException {
        byte[] sealed = encrypt("mm-1.img", data(2 * CHUNK + 100));
        CheckpointCipher.NotAuthentic e = assertThrows(CheckpointCipher.NotAuthentic.class,
                () -> decrypt("mm-1.img", Arrays.copyOf(sealed, HEADER + 2 * SEALED_CHUNK)));
        assertTrue(e.getMessage().contains("without its last one"), e.getMessage());
    }

    @Test
    void reorderedDroppedOrAppendedChunksAreCaught() throws IOException {
        byte[] sealed = encrypt("pages-2.img", data(3 * CHUNK + 7));
        byte[] swapped = sealed.clone();
        System.arraycopy(sealed, HEADER + SEALED_CHUNK, swapped, HEADER, SEALED_CHUNK);
        System.arraycopy(sealed, HEADER, swapped, HEADER + SEALED_CHUNK, SEALED_CHUNK);
        assertThrows(CheckpointCipher.NotAuthentic.class, () -> decrypt("pages-2.img", swapped));

        byte[] dropped = new byte[sealed.length - SEALED_CHUNK];
        System.arraycopy(sealed, 0, dropped, 0, HEADER + SEALED_CHUNK);
        System.arraycopy(sealed, HEADER + 2 * SEALED_CHUNK, dropped, HEADER + SEALED_CHUNK, sealed.length - HEADER - 2 * SEALED_CHUNK);
        assertThrows(CheckpointCipher.NotAuthentic.class, () -> decrypt("pages-2.img", dropped));

        byte[] appended = Arrays.copyOf(sealed, sealed.length + 1);
        assertThrows(CheckpointCipher.NotAuthentic.class, () -> decrypt("pages-2.img", appended));
    }

    @Test
    void aFileOpensOnlyUnderItsNameAndItsCheckpointsKey() throws IOException {
        byte[] sealed = encrypt("pages-1.img", data(1000));
        assertThrows(CheckpointCipher.NotAuthentic.class, () -> decrypt("pages-2.img", sealed));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThrows(CheckpointCipher.NotAuthentic.class,
                () -> CheckpointCipher.decrypt(CheckpointCipher.newDataKey(), "pages-1.img", new ByteArrayInputStream(sealed), out));
    }

    @Test
    void aPlaintextFileIsNotTakenForAnEncryptedOne() {
        CheckpointCipher.NotAuthentic e = assertThrows(CheckpointCipher.NotAuthentic.class,
                () -> decrypt("inventory.img", data(500)));
        assertEquals("not an encrypted checkpoint file", e.getMessage());
    }

    @Test
    void theKeyOpensForItsRecipientOnly() throws Exception {
        KeyPair node3 = pair();
        KeyPair node4 = pair();
        CheckpointMessages.Seal seal = CheckpointCipher.seal(key, "node3", node3.getPublic(), CONTEXT);
        assertArrayEquals(key.getEncoded(),
                CheckpointCipher.unseal(seal, "node3", node3.getPrivate(), node3.getPublic(), CONTEXT).getEncoded());
        assertFalse(seal.toString().contains(Base64.getEncoder().encodeToString(key.getEncoded())));

        CheckpointCipher.NotAuthentic other = assertThrows(CheckpointCipher.NotAuthentic.class,
                () -> CheckpointCipher.unseal(seal, "node3", node4.getPrivate(), node4.getPublic(), CONTEXT));
        assertTrue(other.getMessage().contains("another key of node3"), other.getMessage());
        // The wrong private key, even behind the right key id.
        assertThrows(CheckpointCipher.NotAuthentic.class,
                () -> CheckpointCipher.unseal(seal, "node3", node4.getPrivate(), node3.getPublic(), CONTEXT));
        // The seal made for node3 presented as node4's.
        CheckpointMessages.Seal forNode4 = new CheckpointMessages.Seal("node3", CheckpointCipher.keyId(node4.getPublic()),
                seal.ephemeral(), seal.wrapped());
        assertThrows(CheckpointCipher.NotAuthentic.class,
                () -> CheckpointCipher.unseal(forNode4, "node4", node4.getPrivate(), node4.getPublic(), CONTEXT));
    }

    @Test
    void aSealOpensOnlyWithTheRecordItWasMadeFor() throws Exception {
        KeyPair node3 = pair();
        CheckpointMessages.Seal seal = CheckpointCipher.seal(key, "node3", node3.getPublic(), CONTEXT);
        for (byte[] other : List.of(CheckpointCipher.context("web", "node1", 1700000000001L, "ckpt-web-1234"),
                CheckpointCipher.context("db", "node1", 1700000000000L, "ckpt-web-1234"),
                CheckpointCipher.context("web", "node2", 1700000000000L, "ckpt-web-1234"))) {
            assertThrows(CheckpointCipher.NotAuthentic.class,
                    () -> CheckpointCipher.unseal(seal, "node3", node3.getPrivate(), node3.getPublic(), other));
        }
        assertThrows(CheckpointCipher.NotAuthentic.class,
                () -> CheckpointCipher.unseal(seal, "node3x", node3.getPrivate(), node3.getPublic(), CONTEXT));
        CheckpointMessages.Seal[] altered = {new CheckpointMessages.Seal("node3", seal.keyId(), seal.ephemeral(), flipLast(seal.wrapped())),
                new CheckpointMessages.Seal("node3", seal.keyId(), flipLast(seal.ephemeral()), seal.wrapped())};
        for (CheckpointMessages.Seal a : altered) {
            assertThrows(CheckpointCipher.NotAuthentic.class,
                    () -> CheckpointCipher.unseal(a, "node3", node3.getPrivate(), node3.getPublic(), CONTEXT));
        }
        CheckpointMessages.Seal garbage = new CheckpointMessages.Seal("node3", seal.keyId(), "not base64!", seal.wrapped());
        assertThrows(CheckpointCipher.NotAuthentic.class,
                () -> CheckpointCipher.unseal(garbage, "node3", node3.getPrivate(), node3.getPublic(), CONTEXT));
    }

    @Test
    void aDirectoryComesBackWithItsRecord(@TempDir Path tmp) throws IOException {
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        Files.write(plain.resolve("pages-1.img"), data(2 * CHUNK + 3));
        Files.write(plain.resolve("core-1.img"), data(10));
        Files.write(plain.resolve("empty.img"), new byte[0]);
        Set<String> names = CheckpointCipher.encryptDir(key, plain, tmp.resolve("sealed"), record());
        assertEquals(Set.of("pages-1.img", "core-1.img", "empty.img"), names);
        try (var left = Files.list(plain)) {
            assertEquals(List.of(), left.toList(), "plaintext files are deleted once encrypted");
        }
        JsonNode manifest = CheckpointCipher.decryptDir(key, tmp.resolve("sealed"), tmp.resolve("out"));
        assertEquals(record(), ((ObjectNode) manifest.deepCopy()).without("images"), "the record comes back as it was");
        assertArrayEquals(data(2 * CHUNK + 3), Files.readAllBytes(tmp.resolve("out/pages-1.img")));
        assertArrayEquals(data(10), Files.readAllBytes(tmp.resolve("out/core-1.img")));
        assertEquals(0, Files.size(tmp.resolve("out/empty.img")));
    }

    @Test
    void aFileMissingAddedOrSwappedIsNamed(@TempDir Path tmp) throws IOException {
        Path sealed = sealedDir(tmp, "a");
        Files.delete(sealed.resolve("core-1.img"));
        assertEquals("core-1.img: missing (its manifest lists it)", failure(sealed, tmp.resolve("out-a")));

        sealed = sealedDir(tmp, "b");
        Files.write(sealed.resolve("extra.img"), data(5));
        assertTrue(failure(sealed, tmp.resolve("out-b")).startsWith("extra.img: not a file of this checkpoint"));

        sealed = sealedDir(tmp, "c");
        Path tmpName = sealed.resolve("t");
        Files.move(sealed.resolve("core-1.img"), tmpName);
        Files.move(sealed.resolve("pages-1.img"), sealed.resolve("core-1.img"));
        Files.move(tmpName, sealed.resolve("pages-1.img"));
        assertTrue(failure(sealed, tmp.resolve("out-c")).startsWith("core-1.img: chunk 0 does not authenticate"));

        sealed = sealedDir(tmp, "d");
        Files.delete(sealed.resolve(CheckpointCipher.MANIFEST));
        assertEquals(CheckpointCipher.MANIFEST + ": missing", failure(sealed, tmp.resolve("out-d")));

        sealed = sealedDir(tmp, "e");
        byte[] m = Files.readAllBytes(sealed.resolve(CheckpointCipher.MANIFEST));
        m[HEADER + 3] ^= 0x40;
        Files.write(sealed.resolve(CheckpointCipher.MANIFEST), m);
        assertTrue(failure(sealed, tmp.resolve("out-e")).startsWith(CheckpointCipher.MANIFEST + ": chunk 0"));
    }

    @Test
    void aPeersCertificateCountsOnlyIfTheClusterCaIssuedItForThatNode(@TempDir Path tmp) throws IOException {
        Path pki = tmp.resolve("pki");
        ClusterPki.createCa(pki);
        ClusterPki.issueNode(pki, "node1", List.of());
        ClusterPki.Issued node3 = ClusterPki.issueNode(pki, "node3", List.of());
        Path otherPki = tmp.resolve("other");
        ClusterPki.createCa(otherPki);
        ClusterPki.Issued foreign = ClusterPki.issueNode(otherPki, "node3", List.of());
        NodeIdentity node1 = NodeIdentity.load(pki, "node1");
        CheckpointRecipients recipients = new CheckpointRecipients(() -> node1, null);

        assertEquals(node3.cert().getPublicKey(), recipients.verified("node3", ClusterPki.toPem(node3.cert())));
        IOException wrongName = assertThrows(IOException.class, () -> recipients.verified("node4", ClusterPki.toPem(node3.cert())));
        assertEquals("node4 answered with the certificate of 'node3'", wrongName.getMessage());
        IOException wrongCa = assertThrows(IOException.class, () -> recipients.verified("node3", ClusterPki.toPem(foreign.cert())));
        assertTrue(wrongCa.getMessage().startsWith("node3's certificate is not a valid one of the cluster CA"), wrongCa.getMessage());
        assertThrows(IOException.class, () -> recipients.verified("node3", "garbage"));
    }

    private Path sealedDir(Path tmp, String tag) throws IOException {
        Path plain = Files.createDirectories(tmp.resolve("plain-" + tag));
        Files.write(plain.resolve("pages-1.img"), data(CHUNK + 9));
        Files.write(plain.resolve("core-1.img"), data(300));
        Path sealed = tmp.resolve("sealed-" + tag);
        CheckpointCipher.encryptDir(key, plain, sealed, record());
        return sealed;
    }

    private String failure(Path sealed, Path out) {
        return assertThrows(CheckpointCipher.NotAuthentic.class, () -> CheckpointCipher.decryptDir(key, sealed, out)).getMessage();
    }

    /** A base64 value with its last byte altered. */
    private static String flipLast(String base64) {
        byte[] b = Base64.getDecoder().decode(base64);
        b[b.length - 1] ^= 1;
        return Base64.getEncoder().encodeToString(b);
    }

    private static ObjectNode record() {
        ObjectNode r = ControlMessage.JSON.createObjectNode().put("name", "web").put("node", "node1");
        r.putObject("service").put("name", "web");
        r.putObject("files").put("output_pipe", "/run/x");
        return r;
    }

    private byte[] encrypt(String name, byte[] plain) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CheckpointCipher.encrypt(key, name, new ByteArrayInputStream(plain), out);
        return out.toByteArray();
    }

    private byte[] decrypt(String name, byte[] sealed) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CheckpointCipher.decrypt(key, name, new ByteArrayInputStream(sealed), out);
        return out.toByteArray();
    }

    private static byte[] data(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    private static KeyPair pair() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }
}
