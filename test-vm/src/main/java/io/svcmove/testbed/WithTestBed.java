package io.svcmove.testbed;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated tests on the netns test bed ({@code test-vm/cluster}), brought up once per JVM
 * and taken down after the last test; they get it as a {@link TestBed} parameter. Needs root.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(TestBedExtension.class)
@Tag("integration")
public @interface WithTestBed {}
