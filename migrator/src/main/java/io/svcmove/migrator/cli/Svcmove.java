package io.svcmove.migrator.cli;

/** Entry point of the svcmove command. */
public final class Svcmove {
    private Svcmove() {}

    public static void main(String[] args) {
        System.out.println("svcmove 0.1.0");
    }
}
