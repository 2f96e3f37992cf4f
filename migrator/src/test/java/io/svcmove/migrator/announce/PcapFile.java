package io.svcmove.migrator.announce;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.Pcaps;
import org.pcap4j.packet.Packet;

/** The frames of a capture file that tcpdump wrote, with when each crossed the wire. */
public final class PcapFile {
    private PcapFile() {}

    /** A captured frame; {@code ms} since the epoch, with µs precision. */
    public record Frame(double ms, Packet packet) {}

    public static List<Frame> read(Path pcap) throws IOException {
        List<Frame> frames = new ArrayList<>();
        try (PcapHandle h = Pcaps.openOffline(pcap.toString(), PcapHandle.TimestampPrecision.MICRO)) {
            while (true) {
                Packet p;
                try {
                    p = h.getNextPacketEx();
                } catch (EOFException end) {
                    break;
                }
                java.sql.Timestamp t = h.getTimestamp();
                frames.add(new Frame((t.getTime() / 1000) * 1000.0 + t.getNanos() / 1_000_000.0, p));
            }
        } catch (PcapNativeException | TimeoutException | NotOpenException e) {
            throw new IOException("cannot read " + pcap, e);
        }
        return frames;
    }
}
