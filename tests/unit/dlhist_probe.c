/* A library test_dlhist.c loads and unloads. */
int ct_dlhist_probe(int x);

int
ct_dlhist_probe(int x)
{
	return x + 1;
}
