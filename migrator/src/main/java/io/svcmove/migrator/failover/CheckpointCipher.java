package io.svcmove.migrator.failover;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlMessage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * The encrypted form of a checkpoint, format {@value #FORMAT}. Each checkpoint has its own random
 * AES-256 data key. Every file is encrypted under a key derived from it (HKDF-SHA256 over a random
 * per-file salt and the file's name, so a file renamed or moved into another checkpoint does not
 * open) in chunks of AES-256-GCM: a header (magic, version, chunk size, salt) that every chunk
 * authenticates, then chunks whose nonce holds their index and, for the last one, a final flag, so
 * an altered, reordered, dropped or appended chunk and a cut file all fail. Full chunks are never
 * last: a file ends with a shorter chunk, empty if need be. A sealed manifest lists the files and
 * carries the service's record, so a file removed or added is caught too.
 *
 * <p>The data key is sealed to each recipient node on its own: an ephemeral P-256 key agrees a
 * secret with the node's certificate key (ECDH), HKDF-SHA256 makes a wrap key of it, and AES-GCM
 * wraps the data key with the checkpoint's identity (service, source, time, transfer) as
 * associated data, so a keeper that edits those in its record makes every seal fail to open.
 */
final class CheckpointCipher {
    static final int FORMAT = 1;
    /** The sealed manifest among the files of an encrypted checkpoint. */
    static final String MANIFEST = "svcmove-manifest.sealed";
    static final int CHUNK = 64 * 1024;
    /** A header may name a smaller or larger chunk (a later version), within what a reader buffers. */
    private static final int MAX_CHUNK = 4 * 1024 * 1024;
    private static final byte[] MAGIC = "SVCMCK".getBytes(StandardCharsets.US_ASCII);
    private static final int SALT = 16;
    private static final int TAG = 16;
    private static final int HEADER = MAGIC.length + 1 + 4 + SALT;
    private static final String CURVE = "secp256r1";
    private static final SecureRandom RANDOM = new SecureRandom();

    private CheckpointCipher() {}

    /** A checkpoint that does not authenticate: altered, damaged, cut, or not sealed to the key tried. */
    static final class NotAuthentic extends IOException {
        NotAuthentic(String message) {
            super(message);
        }
    }

    static SecretKey newDataKey() {
        byte[] k = new byte[32];
        RANDOM.nextBytes(k);
        return new SecretKeySpec(k, "AES");
    }

    /** What the seals of one checkpoint are bound to; a keeper stores it in its record in the clear. */
    static byte[] context(String service, String source, long takenAt, String transferId) {
        return String.join("\0", "svcmove checkpoint", Integer.toString(FORMAT), service, source, Long.toString(takenAt), transferId)
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Encrypts one file's content: {@code name} is the file's name in the checkpoint. */
    static void encrypt(SecretKey dataKey, String name, InputStream in, OutputStream out) throws IOException {
        byte[] salt = new byte[SALT];
        RANDOM.nextBytes(salt);
        byte[] header = ByteBuffer.allocate(HEADER).put(MAGIC).put((byte) FORMAT).putInt(CHUNK).put(salt).array();
        SecretKey key = fileKey(dataKey, salt, name);
        out.write(header);
        byte[] buf = new byte[CHUNK];
        byte[] sealed = new byte[CHUNK + TAG];
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            for (long i = 0; ; i++) {
                int n = in.readNBytes(buf, 0, CHUNK);
                boolean last = n < CHUNK;
                c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG * 8, nonce(i, last)));
                c.updateAAD(header);
                out.write(sealed, 0, c.doFinal(buf, 0, n, sealed));
                if (last) {
                    return;
                }
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("this JVM cannot encrypt with AES-256-GCM: " + e.getMessage(), e);
        }
    }

    /** Decrypts and authenticates one file; what it wrote counts only if it returns. */
    static void decrypt(SecretKey dataKey, String name, InputStream in, OutputStream out) throws IOException {
        byte[] header = in.readNBytes(HEADER);
        if (header.length < HEADER || !Arrays.equals(header, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new NotAuthentic("not an encrypted checkpoint file");
        }
        if (header[MAGIC.length] != FORMAT) {
            throw new NotAuthentic("encrypted in format " + header[MAGIC.length] + ", this svcmove reads format " + FORMAT);
        }
        ByteBuffer h = ByteBuffer.wrap(header, MAGIC.length + 1, 4 + SALT);
        int chunk = h.getInt();
        if (chunk < 1 || chunk > MAX_CHUNK) {
            throw new NotAuthentic("its header names chunks of " + chunk + " bytes");
        }
        byte[] salt = new byte[SALT];
        h.get(salt);
        SecretKey key = fileKey(dataKey, salt, name);
        byte[] sealed = new byte[chunk + TAG];
        byte[] plain = new byte[chunk];
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            for (long i = 0; ; i++) {
                int n = in.readNBytes(sealed, 0, chunk + TAG);
                if (n < TAG) {
                    throw new NotAuthentic("cut short: it ends after " + i + " chunks, without its last one");
                }
                boolean last = n < chunk + TAG;
                c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG * 8, nonce(i, last)));
                c.updateAAD(header);
                try {
                    out.write(plain, 0, c.doFinal(sealed, 0, n, plain));
                } catch (AEADBadTagException e) {
                    throw new NotAuthentic("chunk " + i + " does not authenticate (altered, moved, cut or from another checkpoint)");
                }
                if (last) {
                    return;
                }
            }
        } catch (NotAuthentic e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new IOException("this JVM cannot decrypt AES-256-GCM: " + e.getMessage(), e);
        }
    }

    /**
     * Encrypts every regular file of {@code plain} into {@code sealed} (same names), deleting each
     * plaintext file once encrypted, then writes the sealed manifest: {@code record} plus the list
     * of files ({@code images}). Returns the names of the files encrypted.
     */
    static Set<String> encryptDir(SecretKey dataKey, Path plain, Path sealed, ObjectNode record) throws IOException {
        Files.createDirectories(sealed);
        Set<String> names = new TreeSet<>();
        for (Path f : regularFiles(plain)) {
            String name = f.getFileName().toString();
            if (name.equals(MANIFEST)) {
                throw new IOException(f + ": a file of the checkpoint has the name of its manifest");
            }
            try (InputStream in = Files.newInputStream(f);
                    OutputStream out = Files.newOutputStream(sealed.resolve(name), StandardOpenOption.CREATE_NEW)) {
                encrypt(dataKey, name, in, out);
            }
            Files.delete(f);
            names.add(name);
        }
        ObjectNode manifest = record.deepCopy();
        names.forEach(manifest.putArray("images")::add);
        try (OutputStream out = Files.newOutputStream(sealed.resolve(MANIFEST), StandardOpenOption.CREATE_NEW)) {
            encrypt(dataKey, MANIFEST, new ByteArrayInputStream(ControlMessage.JSON.writeValueAsBytes(manifest)), out);
        }
        return names;
    }

    /**
     * Opens an encrypted checkpoint: the manifest first, then every file it lists into
     * {@code plain}; a file missing, one more, or one that does not authenticate throws
     * {@link NotAuthentic} naming it. Returns the manifest's record.
     */
    static JsonNode decryptDir(SecretKey dataKey, Path sealed, Path plain) throws IOException {
        Path m = sealed.resolve(MANIFEST);
        if (!Files.isRegularFile(m, LinkOption.NOFOLLOW_LINKS)) {
            throw new NotAuthentic(MANIFEST + ": missing");
        }
        ByteArrayOutputStream manifestBytes = new ByteArrayOutputStream();
        try (InputStream in = Files.newInputStream(m)) {
            decrypt(dataKey, MANIFEST, in, manifestBytes);
        } catch (NotAuthentic e) {
            throw new NotAuthentic(MANIFEST + ": " + e.getMessage());
        }
        JsonNode manifest = ControlMessage.JSON.readTree(manifestBytes.toByteArray());
        Set<String> listed = new TreeSet<>();
        manifest.path("images").forEach(n -> listed.add(n.asText()));
        Set<String> present = new TreeSet<>();
        for (Path f : regularFiles(sealed)) {
            present.add(f.getFileName().toString());
        }
        present.remove(MANIFEST);
        for (String name : present) {
            if (!listed.contains(name)) {
                throw new NotAuthentic(name + ": not a file of this checkpoint (its manifest does not list it)");
            }
        }
        Files.createDirectories(plain);
        for (String name : listed) {
            if (!present.contains(name)) {
                throw new NotAuthentic(name + ": missing (its manifest lists it)");
            }
            try (InputStream in = Files.newInputStream(sealed.resolve(name));
                    OutputStream out = Files.newOutputStream(plain.resolve(name), StandardOpenOption.CREATE_NEW)) {
                decrypt(dataKey, name, in, out);
            } catch (NotAuthentic e) {
                throw new NotAuthentic(name + ": " + e.getMessage());
            }
        }
        return manifest;
    }

    /** The data key sealed to one node's public key. */
    static CheckpointMessages.Seal seal(SecretKey dataKey, String node, PublicKey recipient, byte[] context) throws IOException {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec(CURVE), RANDOM);
            KeyPair ephemeral = g.generateKeyPair();
            byte[] wrapped = wrapCipher(Cipher.ENCRYPT_MODE, ephemeral.getPrivate(), recipient, ephemeral.getPublic(), recipient, node,
                    context).doFinal(dataKey.getEncoded());
            Base64.Encoder b64 = Base64.getEncoder();
            return new CheckpointMessages.Seal(node, keyId(recipient), b64.encodeToString(ephemeral.getPublic().getEncoded()),
                    b64.encodeToString(wrapped));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot seal the checkpoint's key to " + node + ": " + e.getMessage(), e);
        }
    }

    /** Opens the seal made for {@code node} with that node's key pair. */
    static SecretKey unseal(CheckpointMessages.Seal seal, String node, PrivateKey key, PublicKey own, byte[] context) throws IOException {
        if (!seal.keyId().equals(keyId(own))) {
            throw new NotAuthentic("it is sealed to another key of " + node + " (key " + seal.keyId() + ", "
                    + node + " has " + keyId(own) + "): its certificate was issued anew since");
        }
        try {
            PublicKey ephemeral = KeyFactory.getInstance("EC")
                    .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(seal.ephemeral())));
            if (!(ephemeral instanceof ECPublicKey e) || !e.getParams().getCurve().equals(((ECPublicKey) own).getParams().getCurve())) {
                throw new NotAuthentic("its ephemeral key is not a P-256 key");
            }
            byte[] k = wrapCipher(Cipher.DECRYPT_MODE, key, ephemeral, ephemeral, own, node, context)
                    .doFinal(Base64.getDecoder().decode(seal.wrapped()));
            return new SecretKeySpec(k, "AES");
        } catch (AEADBadTagException e) {
            throw new NotAuthentic("its key sealed to " + node + " does not open (the seal or the checkpoint's record was altered)");
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new NotAuthentic("its key sealed to " + node + " is unreadable: " + e.getMessage());
        }
    }

    /** A short name of a public key (SHA-256 of its encoding), to tell a node's old key from its new one. */
    static String keyId(PublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()), 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    private static Cipher wrapCipher(int mode, PrivateKey mine, PublicKey theirs, PublicKey ephemeral, PublicKey recipient, String node,
            byte[] context) throws GeneralSecurityException {
        KeyAgreement ka = KeyAgreement.getInstance("ECDH");
        ka.init(mine);
        ka.doPhase(theirs, true);
        byte[] salt = ByteBuffer.allocate(ephemeral.getEncoded().length + recipient.getEncoded().length)
                .put(ephemeral.getEncoded()).put(recipient.getEncoded()).array();
        SecretKey wrapKey = hkdf(ka.generateSecret(), salt, "svcmove checkpoint key\0" + node);
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        // The wrap key is new for every seal (a new ephemeral key), so one fixed nonce is never reused under it.
        c.init(mode, wrapKey, new GCMParameterSpec(TAG * 8, new byte[12]));
        c.updateAAD(context);
        return c;
    }

    private static SecretKey fileKey(SecretKey dataKey, byte[] salt, String name) {
        return hkdf(dataKey.getEncoded(), salt, "svcmove checkpoint file\0" + name);
    }

    private static SecretKey hkdf(byte[] ikm, byte[] salt, String info) {
        HKDFBytesGenerator g = new HKDFBytesGenerator(new SHA256Digest());
        g.init(new HKDFParameters(ikm, salt, info.getBytes(StandardCharsets.UTF_8)));
        byte[] k = new byte[32];
        g.generateBytes(k, 0, k.length);
        return new SecretKeySpec(k, "AES");
    }

    /** Nonce of chunk {@code i}: its index, and whether it is the file's last. */
    private static byte[] nonce(long i, boolean last) {
        return ByteBuffer.allocate(12).putLong(3, i).put(11, (byte) (last ? 1 : 0)).array();
    }

    private static List<Path> regularFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList();
        }
    }
}
