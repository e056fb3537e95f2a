package org.fusedstage.dynamics;

/** Reserved status codes. Stage codes are 0, 1, 2, ...; exit status is one past the last stage. */
public final class Status {

    /** A sample taken out of the dynamics because its energy or forces became non-finite. */
    public static final int QUARANTINED = -1;

    private Status() {}
}
