<?php

namespace Acme;

class Dup
{
}

class DupHelper
{
}
