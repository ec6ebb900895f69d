<?php

namespace Acme;

class Dup
{
}
