package org.fusedstage;

/**
 * Physical units and constants, in one place. The library works in eV, Angstrom (A), fs, amu and
 * K; forces are eV/A and stresses eV/A^3.
 */
public final class Units {

    /** Boltzmann constant in eV/K (CODATA 2018). */
    public static final double BOLTZMANN_EV_PER_K = 8.617333262e-5;

    /**
     * Converts an acceleration F/m from eV/(A amu) to A/fs^2: a = F / m / 103.6427.
     * (1 eV/(A amu) = 9.648533e-3 A/fs^2.)
     */
    public static final double EV_PER_A_AMU_TO_A_PER_FS2 = 1.0 / 103.642696562;

    /**
     * Converts kinetic energy m v^2 from amu A^2/fs^2 to eV (the inverse of
     * {@link #EV_PER_A_AMU_TO_A_PER_FS2}).
     */
    public static final double AMU_A2_PER_FS2_TO_EV = 103.642696562;

    /**
     * ASE's internal time unit in fs (A sqrt(amu/eV) = 10.1805 fs). ASE's FIRE defaults and ASE's
     * velocities are expressed in it.
     */
    public static final double ASE_TIME_UNIT_FS = 10.180505671156725;

    private Units() {}
}
