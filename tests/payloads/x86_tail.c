/* The code and data that x86.ld places in the last bytes of the TAIL payload's file. */
void puts_(const char *s);
__attribute__((section(".tail.data"))) const char tail_text[] = "TAIL OK";
__attribute__((section(".tail.code"), noinline)) void tail_print(void) { puts_(tail_text); }
