package io.svcmove.migrator.peer;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gets the JIT to compile the JDK's AES-GCM (with its AES-NI/CLMUL intrinsics) before the first
 * migration needs it. Measured here: a cold JVM moves CRIU images over TLS at about 15 MB/s until
 * roughly 75 MB have gone through GCM, then at hundreds of MB/s; a stand-alone loop over
 * TLS-record-sized buffers reaches 2 GB/s after about 1.5 s of one core. Runs once per JVM, in the
 * background, at low priority.
 */
final class CryptoWarmup {
    private static final Logger LOG = LoggerFactory.getLogger(CryptoWarmup.class);
    private static final AtomicBoolean STARTED = new AtomicBoolean();
    /** A full TLS record's payload. */
    private static final int RECORD = 16 * 1024;
    /** Upper bound: 16,000 records each way (about 250 MB), far more than compilation needs. */
    private static final int MAX_RECORDS = 16_000;
    private static final int BATCH = 256;
    /** A batch this fast (4 MB in under 10 ms, > 400 MB/s) means the compiled code is in use. */
    private static final long WARM_BATCH_NANOS = 10_000_000;

    private CryptoWarmup() {}

    static void start() {
        if (!STARTED.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(CryptoWarmup::run, "peer-crypto-warmup");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    private static void run() {
        long start = System.nanoTime();
        try {
            SecretKeySpec key = new SecretKeySpec(new byte[16], "AES");
            ByteBuffer plain = ByteBuffer.allocate(RECORD);
            ByteBuffer sealed = ByteBuffer.allocate(RECORD + 16);
            ByteBuffer opened = ByteBuffer.allocate(RECORD);
            byte[] iv = new byte[12];
            for (int done = 0; done < MAX_RECORDS; ) {
                long batchStart = System.nanoTime();
                for (int i = 0; i < BATCH; i++, done++) {
                    iv[8] = (byte) (done >> 24);
                    iv[9] = (byte) (done >> 16);
                    iv[10] = (byte) (done >> 8);
                    iv[11] = (byte) done;
                    GCMParameterSpec spec = new GCMParameterSpec(128, iv);
                    Cipher enc = Cipher.getInstance("AES/GCM/NoPadding");
                    enc.init(Cipher.ENCRYPT_MODE, key, spec);
                    plain.clear();
                    sealed.clear();
                    enc.doFinal(plain, sealed);
                    Cipher dec = Cipher.getInstance("AES/GCM/NoPadding");
                    dec.init(Cipher.DECRYPT_MODE, key, spec);
                    sealed.flip();
                    opened.clear();
                    dec.doFinal(sealed, opened);
                }
                if (System.nanoTime() - batchStart < WARM_BATCH_NANOS) {
                    break;
                }
            }
            LOG.debug("AES-GCM warm after {} ms", (System.nanoTime() - start) / 1_000_000);
        } catch (GeneralSecurityException e) {
            LOG.debug("AES-GCM warm-up skipped: {}", e.getMessage());
        }
    }
}
