package io.svcmove.arp;

/** Announcing a VIP failed; the message says on which interface and why. */
public final class ArpException extends Exception {
    public ArpException(String message) {
        super(message);
    }
}
